import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PageCursors } from './page-cursor';

const cursors = new PageCursors('admin-key-for-the-spec-0123456789');

test('a cursor decodes to its values only in its own scope and under its own key', () => {
  const c = cursors.encode('tenants\n\nA', ['acme', 3]);
  assert.deepEqual(cursors.decode('tenants\n\nA', c), ['acme', 3]);
  assert.equal(cursors.decode('tenants\n\nB', c), null);
  assert.equal(cursors.decode('price-plans\n', c), null);
  assert.equal(new PageCursors('another-admin-key-0123456789abcd').decode('tenants\n\nA', c), null);
  assert.throws(
    () => cursors.require('tenants\n\nB', c),
    (e: Error & { field?: string }) => e.field === 'cursor',
  );
});

test('any change to a cursor is refused', () => {
  const c = cursors.encode('s', ['Ωμέγα 株式会社', 'a.b_c-d']);
  fc.assert(
    fc.property(
      fc.nat({ max: c.length - 1 }),
      fc.string({ minLength: 1, maxLength: 1 }),
      (i, ch) => {
        const changed = c.slice(0, i) + ch + c.slice(i + 1);
        fc.pre(changed !== c);
        assert.equal(cursors.decode('s', changed), null, changed);
      },
    ),
  );
  for (const bad of ['', '.', 'a.b', c.split('.')[0] ?? '', `${c}.x`, `${c} `, 'x'.repeat(5000)]) {
    assert.equal(cursors.decode('s', bad), null, bad);
  }
});

test('values of any text round-trip', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer()), { maxLength: 3 }),
      (values) => {
        assert.deepEqual(cursors.decode('s', cursors.encode('s', values)), values);
      },
    ),
  );
});
