import { kafkajsModule, replaceKafkajsModule } from './kafkajs-module';
import { RecordReleasedError, isOwnRecordBytes } from './record-bytes';

// kafkajs 2.2.4 decodes every record's timestamp and offset with its own 64-bit Long class: the
// timestamp delta read a byte at a time into Longs, then the batch's first timestamp and first
// offset parsed from their decimal strings into Longs, added to, and printed back — some fifty
// short-lived objects a record, ~0.7 KB of garbage a consumed message in rating's allocation
// profile (decodeZigZag64, Long.add, Long.fromValue). Here the same record decoder with the
// delta read as a number and the sums made in number arithmetic whenever every value is a safe
// integer (offsets and millisecond timestamps are far below 2^53), and kafkajs's own Long path
// for anything else: the same record, field for field (kafkajs-record-decoder.patch.spec.ts).
// Like the other patches it must be in place before kafkajs loads its fetch decoders, which it
// does at the first fetch; libs/kafka's index imports it first.

interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): unknown;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(decode: (d: KafkajsDecoder) => T): T[];
}

interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

type RecordDecoder = ((decoder: KafkajsDecoder, batchContext?: BatchContext) => unknown) & {
  [PATCHED]?: true;
};

interface LongValue {
  add(other: unknown): LongValue;
  toString(): string;
}
interface LongClass {
  fromValue(value: unknown): LongValue;
}

const PATCHED = Symbol.for('metering.kafkajs.record-decoder.numbers');
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder';

/** kafkajs's record decoder as its record batch decoder gets it: this one once patched. */
export function kafkajsRecordDecoder(): RecordDecoder {
  return kafkajsModule<RecordDecoder>(RECORD_MODULE);
}

/**
 * A zigzag varlong of at most 7 bytes (49 bits: exact in a double) as a number, the decoder moved
 * past it; undefined, the decoder where it was, for anything longer or cut short (kafkajs's
 * readVarLong then reads it, with its own answer for those).
 */
export function readSmallVarLong(decoder: KafkajsDecoder): number | undefined {
  const buffer = decoder.buffer;
  const start = decoder.offset;
  let at = start;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buffer[at++];
    if (byte === undefined) return undefined;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      decoder.offset = at;
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    scale *= 128;
  }
  return undefined;
}

/** A batch's base (a Long's decimal string) as a number when it is a safe integer; else NaN. */
function safeBase(base: string): number {
  const start = base.length <= 16 && /^-?\d+$/.test(base) ? Number(base) : NaN;
  return Number.isSafeInteger(start) ? start : NaN;
}

// The last two bases read (a batch's first offset and first timestamp): every record of a batch
// has the same strings, so each is parsed once a batch.
let baseA = '';
let numberA = NaN;
let baseB = '';
let numberB = NaN;

/** base (a Long's decimal string) + delta, when all three are safe integers; else undefined. */
export function plus(base: unknown, delta: number): string | undefined {
  if (typeof base !== 'string') return undefined;
  const sum = baseNumber(base) + delta;
  return Number.isSafeInteger(sum) ? String(sum) : undefined;
}

/** safeBase(base), from the last two bases read when it is one of them. */
function baseNumber(base: string): number {
  if (base === baseA) return numberA;
  if (base === baseB) return numberB;
  const start = safeBase(base);
  baseB = baseA;
  numberB = numberA;
  baseA = base;
  numberA = start;
  return start;
}

/** kafkajs's record decoder (record/v0/decoder.js), its Long arithmetic in numbers where exact. */
export function leanRecordDecoder(
  Long: LongClass,
  HeaderDecoder: HeaderDecoderFn,
  logAppendTime: number,
  Decoder: DecoderClass,
): RecordDecoder {
  headerReading = { Decoder, HeaderDecoder };
  return (decoder, batchContext = {}) => {
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    const attributes = decoder.readInt8();

    const small = readSmallVarLong(decoder);
    const timestampDelta = small === undefined ? decoder.readVarLong() : small;
    // The timestamp, or its delta from the batch's first timestamp when plus() makes their sum
    // exactly: a number, printed only when asked for (a held record holds no timestamp string).
    const stamp: string | number =
      timestampType === logAppendTime && maxTimestamp
        ? maxTimestamp
        : small !== undefined && exactSum(firstTimestamp, small)
          ? small
          : Long.fromValue(firstTimestamp).add(timestampDelta).toString();

    const offsetDelta = decoder.readVarInt();
    const offset =
      plus(firstOffset, offsetDelta) ?? Long.fromValue(firstOffset).add(offsetDelta).toString();

    if (lazyParts(decoder)) {
      const buffer = decoder.buffer;
      return new LeanRecord(
        attributes,
        stamp,
        offset,
        batchContext,
        buffer.buffer,
        buffer.byteOffset,
        buffer.length,
      );
    }
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headers = headersObject(decoder.readVarIntArray(HeaderDecoder));

    return {
      magicByte,
      attributes,
      timestamp: typeof stamp === 'string' ? stamp : plus(firstTimestamp, stamp)!,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

/** Whether base (a Long's decimal string) + delta is a sum plus() makes exactly. */
function exactSum(base: string | undefined, delta: number): boolean {
  if (typeof base !== 'string') return false;
  return Number.isSafeInteger(baseNumber(base) + delta);
}

/** kafkajs's headers object: a key's values in an array when it comes more than once. */
function headersObject(list: readonly { key: string; value: unknown }[]): Record<string, unknown> {
  return list.reduce<Record<string, unknown>>(
    (obj, { key, value }) => ({
      ...obj,
      [key]:
        obj[key] === undefined
          ? value
          : Array.isArray(obj[key])
            ? (obj[key] as unknown[]).concat([value])
            : [obj[key], value],
    }),
    {},
  );
}

/** Headers a record may have and still be read lazily (more: read at once, as kafkajs does). */
const MAX_LAZY_HEADERS = 64;

// Where lazyParts found the record's parts (read by the LeanRecord made right after it): [start,
// end) in the record's bytes, -1 for null; the header count's position, -1 for no headers.
let keyStart = -1;
let keyEnd = -1;
let valueStart = -1;
let valueEnd = -1;
let headersAt = -1;
// The span skip() read last.
let spanStart = -1;
let spanEnd = -1;

/**
 * A length and the bytes it counts, skipped as kafkajs's readVarIntBytes and readVarIntString read
 * them (-1: null, nothing skipped), their [start, end) clamped to the record's bytes as
 * Buffer#slice clamps them, in spanStart/spanEnd; false for a length below -1.
 */
function skip(decoder: KafkajsDecoder): boolean {
  const size = decoder.readVarInt();
  if (size === -1) {
    spanStart = spanEnd = -1;
    return true;
  }
  if (size < -1) return false;
  const from = decoder.offset;
  const length = decoder.buffer.length;
  decoder.offset += size;
  spanStart = Math.min(from, length);
  spanEnd = Math.min(from + size, length);
  return true;
}

/**
 * Whether the record's key, value and headers can be read lazily: then the decoder is moved past
 * them, as kafkajs's reads would have, and their places are in keyStart … headersAt. Not for
 * lengths kafkajs would slice oddly (below -1) nor more headers than MAX_LAZY_HEADERS: then the
 * decoder is left where it was, for kafkajs's own steps. Every length is read with kafkajs's
 * readVarInt, so the positions are kafkajs's.
 */
function lazyParts(decoder: KafkajsDecoder): boolean {
  const start = decoder.offset;
  let ok = skip(decoder);
  keyStart = spanStart;
  keyEnd = spanEnd;
  ok &&= skip(decoder);
  valueStart = spanStart;
  valueEnd = spanEnd;
  headersAt = -1;
  if (ok) {
    const at = decoder.offset;
    const count = decoder.readVarInt();
    if (count > 0 && count <= MAX_LAZY_HEADERS) {
      headersAt = at;
      for (let i = 0; i < count && ok; i++) ok = skip(decoder) && skip(decoder);
    } else if (count !== 0 && count !== -1) ok = false;
  }
  if (!ok) decoder.offset = start;
  return ok;
}

type HeaderDecoderFn = (d: KafkajsDecoder) => { key: string; value: unknown };
type DecoderClass = new (buffer: Buffer) => KafkajsDecoder;

/** kafkajs's Decoder and header decoder, as the lean decoder was given them: LeanRecord's headers. */
let headerReading: {
  readonly Decoder: DecoderClass;
  readonly HeaderDecoder: HeaderDecoderFn;
} | null = null;

/**
 * A record as kafkajs's decoder gives it, whose key, value and headers are read from the record's
 * bytes when asked for: a consumed message held for a batch window is one object with a few
 * numbers instead of a record, two buffers and a headers object (what the collector promotes to
 * its old generation and marks again at every full collection; docs/adr/0014). Each read gives
 * a new buffer over the same bytes (no copy) and a new headers object. Its timestamp is printed
 * when read (from its delta when exact), and its magic byte and control flag are the batch
 * context's: 14 fields, no string but its offset. The consumer's ConsumedMessage is this object
 * once toConsumedMessage has named its topic and partition.
 */
export class LeanRecord {
  topic = '';
  partition = -1;
  private readonly keyStart = keyStart;
  private readonly keyEnd = keyEnd;
  private readonly valueStart = valueStart;
  private readonly valueEnd = valueEnd;
  private readonly headersAt = headersAt;

  /**
   * Made right after lazyParts found the parts (keyStart … headersAt). `stamp`: the timestamp, or
   * its delta from the batch's first timestamp when their sum is exact (printed when asked for).
   */
  constructor(
    readonly attributes: number,
    private readonly stamp: string | number,
    readonly offset: string,
    readonly batchContext: BatchContext,
    private readonly bytes: ArrayBufferLike,
    private readonly at: number,
    private readonly length: number,
  ) {}

  get timestamp(): string {
    const { stamp } = this;
    return typeof stamp === 'string' ? stamp : plus(this.batchContext.firstTimestamp, stamp)!;
  }

  /** The batch's, as kafkajs's record has it (one shared context, not a field a record). */
  get magicByte(): number | undefined {
    return this.batchContext.magicByte;
  }

  get isControlRecord(): boolean {
    const control = this.batchContext.isControlBatch;
    return control === undefined ? false : control;
  }

  /** The key's and the value's lengths together (null: 0), without a buffer over either. */
  keyValueBytes(): number {
    return (
      (this.keyEnd < 0 ? 0 : this.keyEnd - this.keyStart) +
      (this.valueEnd < 0 ? 0 : this.valueEnd - this.valueStart)
    );
  }

  get key(): Buffer | null {
    this.readable();
    return this.keyEnd < 0 ? null : this.view(this.keyStart, this.keyEnd);
  }

  /** Its record batch's own bytes (ownRecordBytes), which releaseRecordBytes may free; else null. */
  ownBytes(): ArrayBufferLike | null {
    return isOwnRecordBytes(this.bytes) ? this.bytes : null;
  }

  /** Throws once the record's bytes were released: never read as empty, never decoded as such. */
  private readable(): void {
    if (this.bytes.byteLength === 0) throw new RecordReleasedError(this.offset);
  }

  /**
   * Where the key and the value are, written into `into`: [start, end) in `into.bytes` (the bytes
   * of its record batch: kafkajs-record-batch.patch.ts), -1 and -1 for null. No buffer is made
   * over either.
   */
  partsInto(into: RecordParts): void {
    this.readable();
    const { at } = this;
    into.bytes = bytesOf(this.bytes);
    into.keyStart = this.keyEnd < 0 ? -1 : at + this.keyStart;
    into.keyEnd = this.keyEnd < 0 ? -1 : at + this.keyEnd;
    into.valueStart = this.valueEnd < 0 ? -1 : at + this.valueStart;
    into.valueEnd = this.valueEnd < 0 ? -1 : at + this.valueEnd;
  }

  get value(): Buffer | null {
    this.readable();
    return this.valueEnd < 0 ? null : this.view(this.valueStart, this.valueEnd);
  }

  get headers(): Record<string, unknown> {
    this.readable();
    if (this.headersAt < 0) return {};
    // Set: a LeanRecord is only made by the decoder leanRecordDecoder returned.
    const { Decoder, HeaderDecoder } = headerReading!;
    const decoder = new Decoder(this.view(0, this.length));
    decoder.offset = this.headersAt;
    return headersObject(decoder.readVarIntArray(HeaderDecoder));
  }

  /** A view over the record's bytes; its callers (key, value, headers) check they are readable. */
  private view(start: number, end: number): Buffer {
    return Buffer.from(this.bytes, this.at + start, end - start);
  }
}

/** Where a record's key and value are in the bytes it came in (LeanRecord.partsInto). */
export interface RecordParts {
  bytes: Uint8Array;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

// The view bytesOf made last, and the bytes under it: the records of one record batch share them,
// so consecutive records make none. It keeps the last batch's bytes alive until another's are
// asked for (one batch; freed by releaseRecordBytes regardless, the view then empty and never
// read: a released record throws before it gets here).
let lastBytes: ArrayBufferLike | null = null;
let lastView: Uint8Array = Buffer.alloc(0);

/** A Buffer over all of `bytes` (a Buffer, as `key` and `value` are: readers stay of one kind). */
function bytesOf(bytes: ArrayBufferLike): Uint8Array {
  if (bytes !== lastBytes) {
    lastView = Buffer.from(bytes);
    lastBytes = bytes;
  }
  return lastView;
}

/** Puts the lean record decoder in place of kafkajs's (once per process). */
export function patchKafkajsRecordDecoder(): void {
  replaceKafkajsModule<RecordDecoder>(RECORD_MODULE, PATCHED, () =>
    leanRecordDecoder(
      kafkajsModule<LongClass>('kafkajs/src/utils/long'),
      kafkajsModule<HeaderDecoderFn>('kafkajs/src/protocol/recordBatch/header/v0/decoder'),
      kafkajsModule<{ LOG_APPEND_TIME: number }>('kafkajs/src/protocol/timestampTypes')
        .LOG_APPEND_TIME,
      kafkajsModule<DecoderClass>('kafkajs/src/protocol/decoder'),
    ),
  );
}

patchKafkajsRecordDecoder();
