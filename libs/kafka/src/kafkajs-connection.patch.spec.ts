import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { type ConnectionShape, patchKafkajsConnection } from './kafkajs-connection.patch';

// kafkajs's Connection.processData, patched: the responses it hands on are the same, byte for
// byte, however the socket cuts them; only the bytes it keeps after a complete response are a
// buffer of their own instead of a slice of that response's (which would keep it alive).

const load = createRequire(__filename);
const Connection = load('kafkajs/src/network/connection') as { prototype: ConnectionShape };
patchKafkajsConnection();
patchKafkajsConnection(); // once is enough; twice changes nothing

interface Fulfilled {
  correlationId: number;
  payload: Buffer;
}

/** A connection as processData reads it, its fulfilled responses collected. */
function connection(): ConnectionShape & { chunks: Buffer[]; fulfilled: Fulfilled[] } {
  const fulfilled: Fulfilled[] = [];
  const c = Object.create(Connection.prototype) as ConnectionShape & {
    chunks: Buffer[];
    fulfilled: Fulfilled[];
  };
  Object.assign(c, {
    authHandlers: null,
    chunks: [],
    bytesBuffered: 0,
    bytesNeeded: 4,
    fulfilled,
    requestQueue: { fulfillRequest: (r: Fulfilled) => fulfilled.push(r) },
  });
  return c;
}

/** A response as a broker frames it: size, correlation id, payload. */
function frame(correlationId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(payload.length + 4, 0);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, payload]);
}

const PAYLOADS = [
  Buffer.from('first'),
  Buffer.alloc(0),
  Buffer.from('é\u0000✓'.repeat(10)),
  Buffer.alloc(300_000, 7),
  Buffer.from('last'),
];
const STREAM = Buffer.concat(PAYLOADS.map((p, i) => frame(i + 1, p)));

test('every cut of the stream: the same responses, and nothing kept is a slice of a larger buffer', () => {
  for (const size of [1, 3, 4, 5, 8, 13, 64, 4096, 65_536, STREAM.length]) {
    const c = connection();
    for (let at = 0; at < STREAM.length; at += size) {
      // Each socket read in a buffer of its own, as node hands them.
      c.processData(Buffer.from(STREAM.subarray(at, at + size)));
      // What is kept alone is never a slice of a larger buffer (node's pool of small buffers
      // aside: 8 KB shared by small allocations, a copy's as well).
      const kept = c.chunks.length === 1 ? c.chunks[0]! : null;
      if (kept !== null && kept.buffer.byteLength > Buffer.poolSize)
        assert.equal(kept.byteLength, kept.buffer.byteLength, `cut ${size}`);
    }
    assert.deepEqual(
      c.fulfilled.map((f) => [f.correlationId, f.payload.toString('latin1')]),
      PAYLOADS.map((p, i) => [i + 1, p.toString('latin1')]),
      `cut ${size}`,
    );
  }
});

test('a response and the start of the next in one read: the start kept, a buffer of its own once large', () => {
  const c = connection();
  const read = Buffer.concat([
    frame(9, Buffer.from('whole')),
    frame(10, Buffer.from('next')).subarray(0, 6),
  ]);
  c.processData(read);
  assert.deepEqual(
    c.fulfilled.map((f) => f.payload.toString()),
    ['whole'],
  );
  assert.equal(c.chunks.length, 1);
  // A large read: the kept start is a buffer of its own.
  const big = connection();
  const large = Buffer.concat([
    frame(1, Buffer.alloc(100_000, 1)),
    frame(2, Buffer.alloc(50_000, 2)).subarray(0, 20_000),
  ]);
  big.processData(large);
  assert.equal(big.fulfilled.length, 1);
  assert.equal(big.chunks[0]!.byteLength, 20_000);
  assert.equal(big.chunks[0]!.buffer.byteLength, 20_000);
  big.processData(frame(2, Buffer.alloc(50_000, 2)).subarray(20_000));
  assert.deepEqual(
    big.fulfilled.map((f) => f.payload.length),
    [100_000, 50_000],
  );
  assert.ok(big.fulfilled[1]!.payload.every((b) => b === 2));
  assert.deepEqual([...c.chunks[0]!], [...frame(10, Buffer.from('next')).subarray(0, 6)]);
  c.processData(frame(10, Buffer.from('next')).subarray(6));
  assert.deepEqual(
    c.fulfilled.map((f) => f.payload.toString()),
    ['whole', 'next'],
  );
});
