import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { flatKeyedBytes, flatKeyedValue } from './cgroup-values';

// memory.stat's one value is parsed from the bytes (no string per container per cycle): the
// bytes must give what the text gave, on real-looking files and on anything else.

const KEYS = ['total_inactive_file', 'inactive_file'];

const line = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...KEYS, 'active_file', 'total_inactive_file_x', 'x_inactive_file', 'cache'),
      fc.constantFrom(' ', '\t', '  ', ':', ''),
      fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
        fc.constantFrom('', ' 12 ', '12\r', '1e3', '-1', '007', '\u00a012', '١٢', '9'.repeat(30)),
        fc.string({ unit: 'binary', maxLength: 6 }),
      ),
    )
    .map(([key, sep, value]) => `${key}${sep}${value}`),
  fc.string({ maxLength: 12 }),
);

const statText = fc
  .tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([lines, eol, trailing]) => lines.join(eol) + (trailing ? eol : ''));

test('the value parsed from the bytes is the value parsed from the text', () => {
  fc.assert(
    fc.property(statText, fc.constantFrom(...KEYS), (text, key) => {
      const bytes = Buffer.from(text, 'utf8');
      assert.equal(
        flatKeyedBytes(bytes, Buffer.from(key, 'latin1')),
        flatKeyedValue(bytes.toString('utf8'), key),
      );
    }),
    { numRuns: 20_000 },
  );
});

test('a real memory.stat: the hierarchical total, every digit of a large value', () => {
  const text =
    'cache 4096\ninactive_file 100\ntotal_cache 8192\ntotal_inactive_file 18446744073709551615\n';
  const bytes = Buffer.from(text);
  assert.equal(flatKeyedBytes(bytes, Buffer.from('total_inactive_file')), 2n ** 64n - 1n);
  assert.equal(flatKeyedBytes(bytes, Buffer.from('inactive_file')), 100n);
  assert.equal(flatKeyedBytes(bytes, Buffer.from('active_file')), undefined);
});
