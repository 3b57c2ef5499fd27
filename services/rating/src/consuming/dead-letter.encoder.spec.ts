import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DlqEvent, TOPICS, decodeDlq } from '@metering/contracts';
import { type Rejection, boundedDeadLetter, recordBytes } from '@metering/kafka';
import { contractDeadLetterEncoder } from './dead-letter.encoder';

const encoder = contractDeadLetterEncoder('rating', () => new Date('2026-12-03T10:00:00.000Z'));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function rejection(key: Buffer | null, value: Buffer | null, message = 'bad'): Rejection {
  return {
    message: {
      topic: TOPICS.samples,
      partition: 3,
      offset: '77',
      key,
      value,
      headers: {},
      timestamp: '0',
    },
    reason: { reasonCode: 'SCHEMA_VIOLATION', message, path: 'resource.id' },
  };
}

function decoded(value: string | Buffer | null): DlqEvent {
  const result = decodeDlq(value === null ? null : Buffer.from(value));
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
}

function assertDescribes(event: DlqEvent, key: Buffer | null, value: Buffer | null): void {
  const { original } = event;
  const wholeValue = value ?? Buffer.alloc(0);
  const kept = Buffer.from(original.value ?? '', 'base64');
  assert.ok(wholeValue.subarray(0, kept.length).equals(kept));
  assert.equal(original.valueBytes, wholeValue.length);
  assert.equal(original.valueSha256, sha256(wholeValue));
  assert.equal(original.valueTruncated, kept.length < wholeValue.length);
  const wholeKey = key ?? Buffer.alloc(0);
  const keptKey = Buffer.from(original.key ?? '', 'base64');
  assert.equal(original.key === null, key === null);
  assert.ok(wholeKey.subarray(0, keptKey.length).equals(keptKey));
  assert.equal(original.keyBytes, wholeKey.length);
  assert.equal(original.keySha256, sha256(wholeKey));
  assert.equal(original.keyTruncated, keptKey.length < wholeKey.length);
}

test('a dead letter encoded as the DLQ contract carries the whole length and digest', () => {
  const value = Buffer.from('{"schema":"metering.sample.v1","resource":{"id":"a\u0000b"}}');
  const letter = boundedDeadLetter(rejection(Buffer.from('a\u0000b'), value), encoder, 900_000);
  const event = decoded(letter.record.value);
  assert.deepEqual(Buffer.from(event.original.value!, 'base64'), value);
  assert.equal(event.original.valueTruncated, false);
  assert.equal(event.service, 'rating');
  assert.equal(event.reason.path, 'resource.id');
  assertDescribes(event, Buffer.from('a\u0000b'), value);
});

test("an original near the broker's limit is cut to a prefix that decodes with the contract", () => {
  const value = Buffer.alloc(1_000_000, 0xff);
  const letter = boundedDeadLetter(rejection(Buffer.from('vm-1'), value), encoder, 900_000);
  assert.ok(letter.bytes <= 900_000 && letter.bytes > 900_000 - 16);
  const event = decoded(letter.record.value);
  assert.equal(event.original.valueTruncated, true);
  assertDescribes(event, Buffer.from('vm-1'), value);
});

test('property: any key, value and reason decode with the contract and describe the original', () => {
  fc.assert(
    fc.property(
      fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
      fc.option(fc.uint8Array({ maxLength: 3_000 }), { nil: null }),
      fc.nat({ max: 150_000 }),
      fc.string({ unit: 'binary', maxLength: 3_000 }),
      fc.integer({ min: 32_768, max: 120_000 }),
      (keyBytes, valueBytes, padding, reason, max) => {
        const key = keyBytes === null ? null : Buffer.from(keyBytes);
        // Random bytes, then a long tail that may or may not push the record past its bound.
        const value =
          valueBytes === null
            ? null
            : Buffer.concat([Buffer.from(valueBytes), Buffer.alloc(padding, 0x00)]);
        const letter = boundedDeadLetter(rejection(key, value, reason), encoder, max);
        assert.ok(letter.bytes <= max);
        assert.equal(letter.bytes, recordBytes(letter.record));
        const event = decoded(letter.record.value);
        assertDescribes(event, key, value);
        assert.ok(Buffer.byteLength(event.reason.message) <= 2048);
      },
    ),
    { numRuns: 120 },
  );
});
