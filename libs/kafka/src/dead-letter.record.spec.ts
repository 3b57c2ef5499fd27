import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DeadLetterEvent, type Rejection } from './dead-letter.event';
import {
  RECORD_OVERHEAD_BYTES,
  boundedDeadLetter,
  chunksByBytes,
  recordBytes,
  type DeadLetterEncoder,
} from './dead-letter.record';
import { DeadLetterTooLargeError } from './kafka.errors';

const json: DeadLetterEncoder = (event) => JSON.stringify(event);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function rejection(value: Buffer | null, key: Buffer | null = Buffer.from('vm-1')): Rejection {
  return {
    message: {
      topic: 'metering.samples.v1',
      partition: 5,
      offset: '123456789012',
      key,
      value,
      headers: {},
      timestamp: '1795700000000',
    },
    reason: { reasonCode: 'INVALID_JSON', message: 'message is not valid JSON', path: 'cpu' },
  };
}

function eventOf(value: string | Buffer | null): DeadLetterEvent {
  assert.ok(value !== null);
  return JSON.parse(value.toString()) as DeadLetterEvent;
}

/** What a reader of the DLQ can check: the kept bytes are a prefix of the original's. */
function assertFaithful(event: DeadLetterEvent, key: Buffer | null, value: Buffer | null): void {
  const whole = value ?? Buffer.alloc(0);
  const kept = Buffer.from(event.value, 'base64');
  assert.ok(whole.subarray(0, kept.length).equals(kept), 'the value kept is a prefix');
  assert.equal(event.valueBytes, whole.length);
  assert.equal(event.valueSha256, sha256(whole));
  assert.equal(event.valueTruncated, kept.length < whole.length);
  if (key === null) {
    assert.equal(event.key, null);
    assert.equal(event.keyBytes, 0);
  } else {
    const keptKey = Buffer.from(event.key!, 'base64');
    assert.ok(key.subarray(0, keptKey.length).equals(keptKey), 'the key kept is a prefix');
    assert.equal(event.keyBytes, key.length);
    assert.equal(event.keySha256, sha256(key));
    assert.equal(event.keyTruncated, keptKey.length < key.length);
  }
}

test('a record that fits keeps everything and carries the routing headers', () => {
  const value = Buffer.from('{"schema":"metering.sample.v1","host":"nœud-1 😀\u0000"}');
  const letter = boundedDeadLetter(rejection(value), json, 32_768);
  assert.equal(letter.event.valueTruncated, false);
  assert.deepEqual(Buffer.from(letter.event.value, 'base64'), value);
  assert.deepEqual(letter.record.key, Buffer.from('vm-1'));
  assert.deepEqual(letter.record.headers, {
    'dlq.reason-code': 'INVALID_JSON',
    'dlq.original-topic': 'metering.samples.v1',
    'dlq.original-partition': '5',
    'dlq.original-offset': '123456789012',
  });
  assert.equal(letter.bytes, recordBytes(letter.record));
  assertFaithful(eventOf(letter.record.value), Buffer.from('vm-1'), value);
});

test('binary, NUL, invalid UTF-8 and non-BMP bytes survive exactly', () => {
  const values = [
    Buffer.from([0x00, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
    Buffer.from('\u0000\u0001\u001f"\\\u2028\u2029𝄞😀', 'utf8'),
    randomBytes(4096),
    Buffer.alloc(0),
  ];
  for (const value of values) {
    const key = Buffer.from([0x00, 0xff, 0x80]);
    const letter = boundedDeadLetter(rejection(value, key), json, 65_536);
    assert.equal(letter.event.valueTruncated, false);
    assertFaithful(eventOf(letter.record.value), key, value);
  }
  const tombstone = boundedDeadLetter(rejection(null, null), json, 32_768);
  assert.equal(tombstone.record.key, null);
  assertFaithful(eventOf(tombstone.record.value), null, null);
});

test('a value near the broker limit keeps the longest prefix that fits', () => {
  const value = randomBytes(1_000_000);
  const max = 900_000;
  const letter = boundedDeadLetter(rejection(value), json, max);
  assert.ok(letter.bytes <= max, `${letter.bytes} > ${max}`);
  assert.ok(letter.bytes > max - 16, `${letter.bytes}: cut more than needed`);
  assert.equal(letter.bytes, recordBytes(letter.record));
  const event = eventOf(letter.record.value);
  assert.equal(event.valueTruncated, true);
  assert.ok(Buffer.from(event.value, 'base64').length > 600_000);
  assert.equal(event.keyTruncated, false);
  assertFaithful(event, Buffer.from('vm-1'), value);
});

test('a key that does not fit even without the value is cut too, and the record key with it', () => {
  const key = Buffer.alloc(200_000, 'k');
  const value = Buffer.alloc(100_000, 'v');
  const letter = boundedDeadLetter(rejection(value, key), json, 50_000);
  assert.ok(letter.bytes <= 50_000);
  const event = eventOf(letter.record.value);
  assert.equal(event.keyTruncated, true);
  assert.equal(event.valueTruncated, true);
  assert.equal(event.value, '');
  assert.deepEqual(letter.record.key, Buffer.from(event.key!, 'base64'));
  assertFaithful(event, key, value);
});

test('a huge reason does not crowd out the original', () => {
  const r = rejection(Buffer.from('{"x":1}'));
  r.reason.message = `could not rate ${'\u0000'.repeat(500_000)}`;
  const letter = boundedDeadLetter(r, json, 32_768);
  assert.equal(letter.event.valueTruncated, false);
  assert.ok(letter.bytes < 32_768);
});

test('an encoder that cannot fit the bound whatever is cut is an error with a code', () => {
  const padded: DeadLetterEncoder = (event) => `${JSON.stringify(event)}${' '.repeat(40_000)}`;
  assert.throws(
    () => boundedDeadLetter(rejection(Buffer.from('x')), padded, 32_768),
    (e: unknown) =>
      e instanceof DeadLetterTooLargeError && e.code === 'KAFKA_DEAD_LETTER_TOO_LARGE',
  );
});

test('property: any key and value sizes give a record within the bound, faithful and not cut needlessly', () => {
  fc.assert(
    fc.property(
      fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }),
      fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: null }),
      fc.integer({ min: 32_768, max: 200_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer(),
      (keySize, valueSize, max, reasonSize, seed) => {
        const fill = (n: number): Buffer => {
          const b = Buffer.alloc(n);
          for (let i = 0; i < n; i++) b[i] = (seed + i * 131) & 0xff;
          return b;
        };
        const key = keySize === null ? null : fill(keySize);
        const value = valueSize === null ? null : fill(valueSize);
        const r = rejection(value, key);
        r.reason.message = 'é'.repeat(reasonSize);
        const letter = boundedDeadLetter(r, json, max);
        assert.ok(letter.bytes <= max, `${letter.bytes} > ${max}`);
        assert.equal(letter.bytes, recordBytes(letter.record));
        const event = eventOf(letter.record.value);
        assertFaithful(event, key, value);
        assert.deepEqual(event, letter.event);
        const truncated = event.valueTruncated || event.keyTruncated;
        const whole = boundedDeadLetter(r, json, Number.MAX_SAFE_INTEGER);
        assert.equal(truncated, whole.bytes > max, 'cut exactly when the whole does not fit');
        if (truncated) {
          assert.ok(letter.bytes > max - 16, `${letter.bytes} of ${max}: cut more than needed`);
        }
        if (event.keyTruncated) assert.equal(event.value, '', 'the value goes first');
      },
    ),
    { numRuns: 150 },
  );
});

test('chunks by bytes keep the order, stay within the bound and are as full as the next item allows', () => {
  assert.deepEqual(
    chunksByBytes([], () => 1, 10),
    [],
  );
  assert.deepEqual(
    chunksByBytes([5, 5, 5], (n) => n, 10),
    [[5, 5], [5]],
  );
  assert.deepEqual(
    chunksByBytes([30, 1, 1], (n) => n, 10),
    [[30], [1, 1]],
  );
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 2_000 }), { maxLength: 400 }),
      fc.integer({ min: 1, max: 5_000 }),
      (sizes, max) => {
        const items = sizes.map((bytes, index) => ({ bytes, index }));
        const chunks = chunksByBytes(items, (i) => i.bytes, max);
        assert.deepEqual(
          chunks.flat().map((i) => i.index),
          items.map((i) => i.index),
        );
        const sum = (c: { bytes: number }[]): number => c.reduce((s, i) => s + i.bytes, 0);
        for (const [n, chunk] of chunks.entries()) {
          assert.ok(chunk.length > 0);
          assert.ok(chunk.length === 1 || sum(chunk) <= max);
          const next = chunks[n + 1];
          if (next !== undefined) assert.ok(sum(chunk) + next[0]!.bytes > max);
        }
      },
    ),
  );
});

test('record bytes count keys, values, headers and the overhead', () => {
  assert.equal(recordBytes({ key: null, value: null }), RECORD_OVERHEAD_BYTES);
  assert.equal(
    recordBytes({
      key: 'ab',
      value: Buffer.alloc(10),
      headers: { h: 'é', i: [Buffer.alloc(3), 'x'] },
    }),
    RECORD_OVERHEAD_BYTES + 2 + 10 + (10 + 1 + 2) + (10 + 1 + 3) + (10 + 1 + 1),
  );
});
