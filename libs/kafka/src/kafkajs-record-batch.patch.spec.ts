import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { originalKafkajsModule } from '../test/kafkajs-original';
import { messageParts } from './consumed-batch';
import { kafkajsRecordBatchDecoder } from './kafkajs-record-batch.patch';
import { type LeanRecord } from './kafkajs-record-decoder.patch';
import { RecordReleasedError, releaseRecordBytes } from './record-bytes';

// Each record batch is read from bytes of its own (never a slice of the whole fetch response),
// decoded as kafkajs decodes it, and its records' bytes can be released once a consumer is done:
// after that, reading one throws, never reads as empty.

const load = createRequire(__filename);
type Decode = (decoder: unknown) => Promise<{ records: unknown[] }>;
const original = originalKafkajsModule<Decode>('kafkajs/src/protocol/recordBatch/v0/decoder');
const patched = kafkajsRecordBatchDecoder() as unknown as Decode;
const Decoder = load('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
  offset: number;
  slice: unknown;
};
const Record = load('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => unknown;
const { RecordBatch } = load('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (b: object) => Promise<{ buffer: Buffer }>;
};
const { Types } = load('kafkajs/src/protocol/message/compression') as {
  Types: { None: number; GZIP: number };
};

const VALUES = ['{"a":1}', '', 'é\u0000✓', 'x'.repeat(70_000), '{"tenant":"acme"}'];

async function batchBytes(firstOffset: number, compression = Types.None): Promise<Buffer> {
  const records = VALUES.map((v, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: i,
      key: i === 1 ? null : Buffer.from(`key-${i}`),
      value: Buffer.from(v),
      headers: i === 2 ? { h: Buffer.from('1') } : {},
    }),
  );
  const long = load('kafkajs/src/utils/long') as { fromInt(n: number): unknown };
  return (
    await RecordBatch({
      compression,
      firstOffset: long.fromInt(firstOffset),
      firstTimestamp: 1_764_000_000_000,
      maxTimestamp: 1_764_000_000_004,
      lastOffsetDelta: VALUES.length - 1,
      records,
    })
  ).buffer;
}

/** A record as its consumer sees it: offset, timestamp, key, value, headers. */
function plain(r: unknown): object {
  const m = r as {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, unknown>;
  };
  return {
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key?.toString('latin1') ?? null,
    value: m.value?.toString('latin1') ?? null,
    headers: JSON.stringify(m.headers),
  };
}

test('two batches in one response: the records kafkajs decodes, each batch on bytes of its own', async () => {
  // A response: two batches back to back, with bytes before and after them.
  const response = Buffer.concat([
    Buffer.from('prefix'),
    await batchBytes(100),
    await batchBytes(200),
    Buffer.from('suffix'),
  ]);
  const a = new Decoder(response);
  const b = new Decoder(response);
  a.offset = b.offset = 6;
  const expected = [...(await original(a)).records, ...(await original(a)).records];
  const got = [...(await patched(b)).records, ...(await patched(b)).records];
  assert.equal(b.offset, a.offset, 'the response is read to the same place');
  assert.deepEqual(got.map(plain), expected.map(plain));
  // kafkajs's slice is the prototype's again once a batch is read.
  assert.equal(Object.hasOwn(b, 'slice'), false);

  const own = got.map((r) => (r as LeanRecord).ownBytes());
  assert.ok(own.every((bytes) => bytes !== null && bytes !== response.buffer));
  assert.equal(new Set(own.slice(0, VALUES.length)).size, 1, 'one buffer for the first batch');
  assert.equal(new Set(own).size, 2, 'another for the second');
  assert.equal(own[0]!.byteLength, (await batchBytes(100)).length - 12);
});

test('released: the bytes are freed, and every read of a record throws; its offset and sizes stay', async () => {
  const { records } = await patched(new Decoder(await batchBytes(7)));
  const lean = records as LeanRecord[];
  const sizes = lean.map((r) => r.keyValueBytes());
  const bytes = lean[0]!.ownBytes()!;
  const length = bytes.byteLength;
  // Not lean, or not a record at all: left alone.
  assert.equal(releaseRecordBytes([...lean, { value: Buffer.from('x') }, null, 42]), length);
  assert.equal(bytes.byteLength, 0, 'detached');
  for (const r of lean) {
    assert.throws(() => r.value, RecordReleasedError);
    assert.throws(() => r.key, RecordReleasedError);
    assert.throws(() => r.headers, RecordReleasedError);
    assert.throws(() => messageParts(r as never), RecordReleasedError);
  }
  assert.deepEqual(
    lean.map((r) => r.offset),
    ['7', '8', '9', '10', '11'],
  );
  assert.deepEqual(
    lean.map((r) => r.keyValueBytes()),
    sizes,
  );
  assert.equal(releaseRecordBytes(lean), 0, 'a second release frees nothing');
  assert.match(String(captured(() => lean[3]!.value)), /offset 10 was read after its bytes/);
});

test('a compressed batch: its records read the decompressed bytes, which are never released', async () => {
  const { records } = await patched(new Decoder(await batchBytes(0, Types.GZIP)));
  const expected = (await original(new Decoder(await batchBytes(0, Types.GZIP)))).records;
  assert.deepEqual(records.map(plain), expected.map(plain));
  assert.equal(releaseRecordBytes(records), 0);
  assert.deepEqual(records.map(plain), expected.map(plain));
});

test('kafkajs’s fetch decoders get the own-bytes batch decoder', () => {
  assert.equal(
    Reflect.get(kafkajsRecordBatchDecoder(), Symbol.for('metering.kafkajs.record-batch.own-bytes')),
    true,
  );
  assert.notEqual(kafkajsRecordBatchDecoder(), original);
});

function captured(read: () => unknown): unknown {
  try {
    read();
    return null;
  } catch (error) {
    return error;
  }
}
