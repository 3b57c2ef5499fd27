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
    assert.equal(names.forget(0), true);
    const after = ['a', 'b', 'c', 'd'].map((t) => names.nameOf(t));
    for (const name of after) assert.ok(name !== null && !before.includes(name), String(name));
    assert.equal(names.forget(1), true);
    assert.ok(!after.includes(names.nameOf('a')));
  });

  test('a server that keeps losing them: given up after 3 forgets within 10 minutes', () => {
    const names = new StatementNames();
    const minute = 60_000;
    // Forgets spread out (a migration now and then) never give up.
    for (let i = 0; i < 10; i++) assert.equal(names.forget(i * 6 * minute), true);
    assert.notEqual(names.nameOf('a'), null);
    assert.equal(names.naming, true);
    // Three within ten minutes (what a transaction pooler causes): names are given no more.
    const t = 100 * minute;
    assert.equal(names.forget(t), true);
    assert.equal(names.forget(t + minute), true);
    assert.equal(names.forget(t + 9 * minute), false);
    assert.equal(names.naming, false);
    assert.equal(names.nameOf('a'), null);
    assert.equal(names.nameOf('b'), null);
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
