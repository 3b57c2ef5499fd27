import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { crc32c, kafkajsCrc32c } from './kafkajs-crc32c.patch';

// The sliced CRC32C must give kafkajs's own checksum (its byte-at-a-time crc32C.js, loaded
// here beside the patched module) for any buffer, and the standard check value.

const load = createRequire(__filename);
const original = load('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (b: Buffer) => number;

test('the sliced CRC32C is kafkajs’s, for any bytes and any length', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), original(Buffer.alloc(0)) >>> 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), (bytes, skip) => {
      // A view at any offset of its memory, as kafkajs's buffers are slices of larger ones.
      const buffer = Buffer.from(bytes).subarray(Math.min(skip, bytes.length));
      assert.equal(crc32c(buffer), original(buffer) >>> 0);
    }),
    { numRuns: 5_000 },
  );
});

test('kafkajs’s record batches get the sliced one', () => {
  const patched = kafkajsCrc32c();
  const batch = Buffer.from('a record batch body'.repeat(40));
  assert.equal(patched(batch), original(batch) >>> 0);
  assert.equal(Reflect.get(patched, Symbol.for('metering.kafkajs.crc32c.sliced')), true);
});
