import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { originalKafkajsModule } from '../test/kafkajs-original';
import { type ConsumedMessage, messageBytes, messageParts } from './consumed-batch';
import {
  LeanRecord,
  type RecordParts,
  kafkajsRecordDecoder,
  plus,
  readSmallVarLong,
} from './kafkajs-record-decoder.patch';

// The lean record decoder must give kafkajs's own record, field for field (its key, value and
// headers read when asked for, or at once), and leave the decoder where kafkajs's does, for every
// record: any offset and timestamp base a Long can hold, deltas of every size (the 8- to 10-byte
// varlongs take kafkajs's path), keys and values null or not, repeated headers, log-append time,
// bytes cut short, and lengths and header counts kafkajs reads oddly.

const load = createRequire(__filename);
type Decode = (decoder: unknown, context?: object) => unknown;

/** kafkajs's record decoder as it ships, beside the patched one. */
const original = originalKafkajsModule<Decode>(
  'kafkajs/src/protocol/recordBatch/record/v0/decoder',
);
const Decoder = load('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
  offset: number;
  readVarIntBytes(): Buffer;
};
const Record = load('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => {
  buffer: Buffer;
};
const Long = load('kafkajs/src/utils/long') as { fromString(s: string): unknown };

/** Both decoders on the same bytes: equal records (or equal errors) and equal positions. */
function same(body: Buffer, context: object): void {
  const a = new Decoder(body);
  const b = new Decoder(body);
  let left: unknown;
  let right: unknown;
  try {
    left = original(a, context);
  } catch (e) {
    left = { threw: String(e) };
  }
  try {
    right = kafkajsRecordDecoder()(b as never, context);
  } catch (e) {
    right = { threw: String(e) };
  }
  assert.deepEqual(plain(right), plain(left));
  // Read twice: the same again (each read makes new buffers over the same bytes).
  assert.deepEqual(plain(right), plain(left));
  assert.equal(b.offset, a.offset);
  // A batch window's measure, as the message's key and value count it; for a plain record too.
  if (typeof left === 'object' && left !== null && 'value' in left) {
    const { key, value } = left as { key: Buffer | null; value: Buffer | null };
    const bytes = (key?.length ?? 0) + (value?.length ?? 0);
    assert.equal(messageBytes(right as ConsumedMessage), bytes);
    assert.equal(messageBytes(left as ConsumedMessage), bytes);
    // Its parts: the key's and value's bytes as ranges of the response's (a lean record's only).
    assert.equal(messageParts(left as ConsumedMessage), null);
    const parts = messageParts(right as ConsumedMessage);
    if (right instanceof LeanRecord) assert.deepEqual(partsOf(parts!), { key, value });
    else assert.equal(parts, null);
  }
}

/** The key and value a message's parts say, as buffers (null for -1). */
function partsOf(parts: Readonly<RecordParts>): { key: Buffer | null; value: Buffer | null } {
  const { bytes } = parts;
  const range = (start: number, end: number): Buffer | null => {
    if (start < 0) return null;
    assert.ok(start <= end && end <= bytes.length, 'a range within the bytes');
    return Buffer.from(bytes.subarray(start, end));
  };
  return {
    key: range(parts.keyStart, parts.keyEnd),
    value: range(parts.valueStart, parts.valueEnd),
  };
}

/** A record's fields as kafkajs names them, read through getters where the record has them. */
function plain(record: unknown): unknown {
  if (typeof record !== 'object' || record === null || !('offset' in record)) return record;
  const r = record as Record<string, unknown>;
  return {
    magicByte: r['magicByte'],
    attributes: r['attributes'],
    timestamp: r['timestamp'],
    offset: r['offset'],
    key: r['key'],
    value: r['value'],
    headers: r['headers'],
    isControlRecord: r['isControlRecord'],
    batchContext: r['batchContext'],
  };
}

const long = (min: bigint, max: bigint) => fc.bigInt({ min, max }).map(String);
const base = fc.oneof(
  long(0n, 2n ** 53n),
  long(2n ** 53n - 10n, 2n ** 53n + 10n),
  long(0n, 2n ** 63n - 1n),
  long(-(2n ** 63n), -1n),
  fc.constantFrom('-1', '0', '9007199254740991', '9007199254740992', '9223372036854775807'),
);
const timestampDelta = fc.oneof(
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Long.fromString(String(n))),
  fc.bigInt({ min: -(2n ** 49n), max: 2n ** 49n }).map((n) => Long.fromString(String(n))),
);
const bytes = fc.option(
  fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
  {
    nil: null,
  },
);
const headers = fc.dictionary(
  fc.string({ maxLength: 8 }),
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  ),
  { maxKeys: 3 },
);

test('the lean record decoder gives kafkajs’s record for every record', () => {
  fc.assert(
    fc.property(
      fc.record({
        firstOffset: base,
        firstTimestamp: base,
        timestampDelta,
        offsetDelta: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        key: bytes,
        value: bytes,
        headers,
        logAppend: fc.boolean(),
        maxTimestamp: base,
        // Undefined too: kafkajs's record defaults the flag; a lean record reads both from the context.
        isControlBatch: fc.option(fc.boolean(), { nil: undefined }),
        magicByte: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        cut: fc.option(fc.nat(200), { nil: undefined }),
      }),
      (r) => {
        const encoded = Record({
          timestampDelta: r.timestampDelta,
          offsetDelta: r.offsetDelta,
          key: r.key,
          value: r.value,
          headers: r.headers,
        }).buffer;
        const body = new Decoder(encoded).readVarIntBytes();
        const context = {
          firstOffset: r.firstOffset,
          firstTimestamp: r.firstTimestamp,
          magicByte: r.magicByte,
          isControlBatch: r.isControlBatch,
          timestampType: r.logAppend ? 1 : 0,
          maxTimestamp: r.maxTimestamp,
        };
        same(body, context);
        if (r.cut !== undefined) same(body.subarray(0, r.cut % (body.length + 1)), context);
      },
    ),
    { numRuns: 5_000 },
  );
});

/** A record body written by hand: varint lengths as given (zigzag), then the bytes. */
function zigzag(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

test('odd lengths and header counts read as kafkajs reads them (at once, not lazily)', () => {
  const context = { firstOffset: '10', firstTimestamp: '1700000000000', magicByte: 2 };
  const head = [0, ...zigzag(5), ...zigzag(1)]; // attributes, timestamp delta, offset delta
  const cases: number[][] = [
    [...head, ...zigzag(-2), ...zigzag(1), 0x61, ...zigzag(0)], // a key of length -2
    [...head, ...zigzag(1), 0x6b, ...zigzag(-7), ...zigzag(0)], // a value of length -7
    [...head, ...zigzag(-1), ...zigzag(1), 0x76, ...zigzag(65)], // 65 headers (cut short)
    [...head, ...zigzag(-1), ...zigzag(1), 0x76, ...zigzag(-3)], // a header count of -3
    [...head, ...zigzag(-1), ...zigzag(1), 0x76, ...zigzag(1), ...zigzag(-4)], // header key -4
    [...head, ...zigzag(1000), 0x6b], // a key longer than the record
    [...head, ...zigzag(-1), ...zigzag(-1), ...zigzag(2), ...zigzag(1), 0x68, ...zigzag(-1)],
  ];
  for (const bytes of cases) same(Buffer.from(bytes), context);
});

test('a record of the usual shape is read lazily: no buffer of its own, its bytes where kafkajs reads them', () => {
  const value = Buffer.from('{"schema":"metering.sample.v1"}');
  const body = new Decoder(
    Record({
      key: Buffer.from('ctr-1'),
      value,
      headers: { 'metering-host-auth': 'v1 k1 mac', other: ['a', 'b'] },
    }).buffer,
  ).readVarIntBytes();
  const record = kafkajsRecordDecoder()(new Decoder(body) as never, {
    firstOffset: '7',
    firstTimestamp: '1700000000000',
  });
  assert.ok(record instanceof LeanRecord);
  assert.ok(
    Object.values(record).every((v) => !Buffer.isBuffer(v)),
    'no buffer held by the record itself',
  );
  // Nor its timestamp as a string (the batch's first plus its delta, printed when read), nor the
  // batch's magic byte and control flag (read from the one context the batch's records share).
  assert.equal(record.timestamp, '1700000000000');
  assert.ok(!Object.values(record).includes(record.timestamp), 'no timestamp string held');
  assert.deepEqual(
    Object.keys(record).filter((k) => ['magicByte', 'isControlRecord', 'timestamp'].includes(k)),
    [],
  );
  assert.equal(record.isControlRecord, false);
  assert.equal(record.keyValueBytes(), 'ctr-1'.length + value.length);
  assert.deepEqual(record.value, value);
  assert.deepEqual(record.key, Buffer.from('ctr-1'));
  assert.deepEqual(record.headers, {
    'metering-host-auth': Buffer.from('v1 k1 mac'),
    other: [Buffer.from('a'), Buffer.from('b')],
  });
  // A view, not a copy: the bytes of the record batch it came from.
  assert.equal(record.value.buffer, body.buffer);
});

test('parts of records of two responses, asked for in turn: each its own bytes', () => {
  const decode = (key: string, value: string): LeanRecord => {
    const body = new Decoder(
      Record({ key: Buffer.from(key), value: Buffer.from(value) }).buffer,
    ).readVarIntBytes();
    // A response of its own: the record's bytes in a fresh ArrayBuffer, at an offset.
    const response = Buffer.concat([Buffer.from('xx'), body, Buffer.from('yy')]);
    const record = kafkajsRecordDecoder()(
      new Decoder(response.subarray(2, 2 + body.length)) as never,
      {
        firstOffset: '1',
        firstTimestamp: '1700000000000',
      },
    );
    assert.ok(record instanceof LeanRecord);
    return record;
  };
  const a = decode('ctr-a', '{"a":1}');
  const b = decode('vm-b', '{"bb":22}');
  for (const [record, key, value] of [
    [a, 'ctr-a', '{"a":1}'],
    [b, 'vm-b', '{"bb":22}'],
    [a, 'ctr-a', '{"a":1}'],
  ] as const) {
    const parts = messageParts(record as unknown as ConsumedMessage)!;
    assert.deepEqual(partsOf(parts), { key: Buffer.from(key), value: Buffer.from(value) });
  }
  // A null key and value: -1 and -1.
  const body = new Decoder(Record({ key: null, value: null }).buffer).readVarIntBytes();
  const record = kafkajsRecordDecoder()(new Decoder(body) as never, {
    firstOffset: '1',
    firstTimestamp: '1700000000000',
  });
  assert.ok(record instanceof LeanRecord);
  const parts = messageParts(record as unknown as ConsumedMessage)!;
  assert.deepEqual(
    [parts.keyStart, parts.keyEnd, parts.valueStart, parts.valueEnd],
    [-1, -1, -1, -1],
  );
});

test('a record without a batch context, and the default context, as kafkajs reads them', () => {
  const body = new Decoder(
    Record({ key: Buffer.from('k'), value: Buffer.from('v') }).buffer,
  ).readVarIntBytes();
  same(body, {});
});

test('plus: exact sums of safe integers, kafkajs’s Long path for anything else', () => {
  assert.equal(plus('1700000000000', 5), '1700000000005');
  assert.equal(plus('-1', 0), '-1');
  assert.equal(plus('9007199254740990', 1), '9007199254740991');
  for (const [b, d] of [
    ['9007199254740991', 1],
    ['9007199254740992', 0],
    ['9223372036854775807', -1],
    ['0x10', 0],
    [' 12', 0],
    ['', 0],
    ['1e3', 0],
    [undefined, 0],
  ] as const) {
    assert.equal(plus(b, d), undefined, `${String(b)} + ${d}`);
  }
});

test('readSmallVarLong: up to 7 bytes; longer or cut short is left to kafkajs', () => {
  const d = (bytes: number[]) => ({ buffer: Buffer.from(bytes), offset: 0 }) as never;
  const one = d([0x03]);
  assert.equal(readSmallVarLong(one), -2);
  assert.equal((one as { offset: number }).offset, 1);
  const cut = d([0x80, 0x80]);
  assert.equal(readSmallVarLong(cut), undefined);
  assert.equal((cut as { offset: number }).offset, 0);
  const eight = d([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  assert.equal(readSmallVarLong(eight), undefined);
  assert.equal((eight as { offset: number }).offset, 0);
});

test('kafkajs’s record batches get the lean decoder', () => {
  assert.equal(
    Reflect.get(kafkajsRecordDecoder(), Symbol.for('metering.kafkajs.record-decoder.numbers')),
    true,
  );
  assert.notEqual(kafkajsRecordDecoder(), original);
});
