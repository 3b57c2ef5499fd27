import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatementNames, isStalePreparedStatement } from './statement-names';

describe('StatementNames', () => {
  test('one name per text, never one name for two texts', () => {
    const names = new StatementNames();
    const a = names.nameOf('SELECT 1');
    const b = names.nameOf('SELECT 2');
    assert.ok(a !== null && b !== null);
    assert.notEqual(a, b);
    assert.equal(names.nameOf('SELECT 1'), a);
    // Texts that differ only in what a hash might confuse: whitespace, case, NUL, non-ASCII.
    const texts = ['SELECT 1 ', 'select 1', 'SELECT\u00001', 'SELECT ‘1’', 'SELECT 1\n'];
    const given = texts.map((t) => names.nameOf(t));
    assert.equal(new Set([a, b, ...given]).size, texts.length + 2);
  });

  test('bounded: past the limit a text runs unnamed, the known ones keep their names', () => {
    const names = new StatementNames(3);
    const first = names.nameOf('q0');
    names.nameOf('q1');
    names.nameOf('q2');
    assert.equal(names.nameOf('q3'), null);
    assert.equal(names.nameOf(`q${'x'.repeat(100_000)}`), null);
    assert.equal(names.nameOf('q0'), first);
  });

  test('forget: every text gets a name never given before', () => {
    const names = new StatementNames();
    const before = ['a', 'b', 'c'].map((t) => names.nameOf(t));
    names.forget();
    const after = ['a', 'b', 'c', 'd'].map((t) => names.nameOf(t));
    for (const name of after) assert.ok(name !== null && !before.includes(name), String(name));
    names.forget();
    assert.ok(!after.includes(names.nameOf('a')));
  });
});

describe('isStalePreparedStatement', () => {
  const withCode = (code: unknown, message = 'x'): Error =>
    Object.assign(new Error(message), { code });

  test('the server lost or refuses the prepared statements', () => {
    assert.ok(isStalePreparedStatement(withCode('26000')));
    assert.ok(isStalePreparedStatement(withCode('42P05')));
    assert.ok(
      isStalePreparedStatement(withCode('0A000', 'cached plan must not change result type')),
    );
  });

  test('anything else is not: another 0A000, data errors, odd values', () => {
    assert.ok(!isStalePreparedStatement(withCode('0A000', 'unsupported Unicode escape')));
    assert.ok(!isStalePreparedStatement(withCode('22021')));
    assert.ok(!isStalePreparedStatement(withCode(26000)));
    for (const odd of [null, undefined, 0, 'x', {}, { code: '26000 ' }]) {
      assert.ok(!isStalePreparedStatement(odd));
    }
  });
});
