import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { kafkajsEncoder } from './kafkajs-encoder.patch';

// The pooled Encoder must write exactly what kafkajs's writes, whatever is written and however
// far the buffer grows (its first buffer is 512 bytes), nested encoders included.

type Enc = Record<string, (...args: unknown[]) => Enc> & { buffer: Buffer };
type Op = [method: string, arg: unknown];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((v): Op => ['writeInt8', v]),
  fc.integer({ min: -32768, max: 32767 }).map((v): Op => ['writeInt16', v]),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): Op => ['writeInt32', v]),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v): Op => ['writeInt64', String(v)]),
  fc.boolean().map((v): Op => ['writeBoolean', v]),
  fc.option(fc.string({ maxLength: 300 })).map((v): Op => ['writeString', v]),
  fc.option(fc.string({ maxLength: 300 })).map((v): Op => ['writeVarIntString', v]),
  fc
    .option(fc.uint8Array({ maxLength: 900 }).map((b) => Buffer.from(b)))
    .map((v): Op => ['writeBytes', v]),
  fc
    .option(fc.uint8Array({ maxLength: 900 }).map((b) => Buffer.from(b)))
    .map((v): Op => ['writeVarIntBytes', v]),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): Op => ['writeVarInt', v]),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((v): Op => ['writeUVarInt', v]),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }).map((v): Op => ['writeArray', v]),
  fc.uint8Array({ maxLength: 2000 }).map((b): Op => ['nested', Buffer.from(b)]),
);

function run(Encoder: new () => unknown, ops: readonly Op[]): Buffer {
  const e = new Encoder() as Enc;
  for (const [method, arg] of ops) {
    if (method === 'nested') e['writeEncoder']!((new Encoder() as Enc)['writeBuffer']!(arg));
    else e[method]!(arg);
  }
  return e.buffer;
}

test('the pooled Encoder is the one kafkajs gets, and writes the same bytes', () => {
  const Pooled = kafkajsEncoder();
  const Original = Object.getPrototypeOf(Pooled) as typeof Pooled;
  assert.notEqual(Pooled, Original);
  assert.equal((Pooled as unknown as { sizeOfVarInt(v: number): number }).sizeOfVarInt(300), 2);
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      assert.deepEqual(run(Pooled, ops), run(Original, ops));
    }),
    { numRuns: 2_000 },
  );
});
