import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countThrough } from './batch-run';
import { compareOffsets } from './kafka-offsets';

const at = (...offsets: string[]) => offsets.map((offset) => ({ offset }));

test('countThrough: the messages up to and including the last one processed', () => {
  assert.equal(countThrough(at('5', '6', '9'), '9'), 3);
  assert.equal(countThrough(at('5', '6', '9'), '6'), 2);
  assert.equal(countThrough(at('5', '6', '9'), '7'), 2, 'an offset between messages (compaction)');
  assert.equal(countThrough(at('5', '6', '9'), '4'), 0);
  // Past 2^53: compared exactly.
  assert.equal(countThrough(at('9007199254740993', '9007199254740994'), '9007199254740993'), 1);
  assert.equal(countThrough(at('9223372036854775806'), '9223372036854775807'), 1);
});

test('countThrough counts what a filter counts, for batches in offset order (property)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 40 }),
      fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
      (offsets, last) => {
        const messages = at(...offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String));
        const expected = messages.filter((m) => compareOffsets(m.offset, String(last)) <= 0).length;
        assert.equal(countThrough(messages, String(last)), expected);
      },
    ),
  );
});
