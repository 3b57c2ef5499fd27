import {
  DeadLetterDraft,
  type DeadLetterEvent,
  type KeptBytes,
  type Rejection,
} from './dead-letter.event';
import { DeadLetterTooLargeError } from './kafka.errors';
import { type OutgoingMessage } from './kafka-producer';

/** Turns an event into the record value; the switch point for the contracts' encoder. */
export type DeadLetterEncoder = (event: DeadLetterEvent) => string | Buffer;

/**
 * Upper bound of what a record adds to its key, value and header bytes in a Kafka record batch
 * (v2): length, attributes, timestamp and offset deltas, key and value lengths and the header
 * count as varints at their widest. Each header adds two more lengths.
 */
export const RECORD_OVERHEAD_BYTES = 36;
const HEADER_OVERHEAD_BYTES = 10;

export interface BoundedDeadLetter {
  record: OutgoingMessage;
  event: DeadLetterEvent;
  /** The record's size in a record batch, at most (RECORD_OVERHEAD_BYTES included). */
  bytes: number;
}

/**
 * The DLQ record of one rejection, at most `maxRecordBytes` (measured like recordBytes). When the
 * whole original does not fit, the value is cut to the longest prefix that does; only when even
 * an empty value does not fit is the key cut too (the record's key is then that prefix). The
 * event says what was cut and always carries the whole original's length and SHA-256.
 */
export function boundedDeadLetter(
  rejection: Rejection,
  encode: DeadLetterEncoder,
  maxRecordBytes: number,
): BoundedDeadLetter {
  const draft = new DeadLetterDraft(rejection.message, rejection.reason);
  const build = (keep: KeptBytes): BoundedDeadLetter => {
    const event = draft.event(keep);
    const record: OutgoingMessage = {
      key: draft.keptKey(keep),
      value: encode(event),
      // Routing facts in headers too, so tools can filter without decoding the value.
      headers: {
        'dlq.reason-code': draft.reason.reasonCode,
        'dlq.original-topic': rejection.message.topic,
        'dlq.original-partition': String(rejection.message.partition),
        'dlq.original-offset': rejection.message.offset,
      },
    };
    return { record, event, bytes: recordBytes(record) };
  };

  const whole = build({});
  if (whole.bytes <= maxRecordBytes) return whole;

  const noValue = build({ valueBytes: 0 });
  if (noValue.bytes <= maxRecordBytes) {
    return longestFitting(draft.value.length, whole, noValue, maxRecordBytes, (n) =>
      build({ valueBytes: n }),
    );
  }
  const keyLength = draft.key?.length ?? 0;
  const nothing = build({ valueBytes: 0, keyBytes: 0 });
  if (nothing.bytes <= maxRecordBytes) {
    return longestFitting(keyLength, noValue, nothing, maxRecordBytes, (n) =>
      build({ valueBytes: 0, keyBytes: n }),
    );
  }
  throw new DeadLetterTooLargeError(nothing.bytes, maxRecordBytes);
}

/**
 * The record with the longest prefix n in [0, length) whose size fits, or one close to it (within
 * a few bytes): sizes grow with n almost linearly (base64 in JSON: 4 bytes per 3), so regula falsi
 * between a fitting and a too-large size finds it in one or two encodings; bisection after a few
 * rounds bounds the work for any encoder.
 */
function longestFitting(
  length: number,
  tooLarge: BoundedDeadLetter,
  fitting: BoundedDeadLetter,
  max: number,
  build: (n: number) => BoundedDeadLetter,
): BoundedDeadLetter {
  let lo = 0;
  let hi = length;
  let best = fitting;
  let over = tooLarge;
  for (let round = 0; hi - lo > 1 && max - best.bytes > CLOSE_ENOUGH_BYTES; round++) {
    const secant = lo + Math.floor(((max - best.bytes) * (hi - lo)) / (over.bytes - best.bytes));
    const n = round < SECANT_ROUNDS && secant > lo && secant < hi ? secant : lo + ((hi - lo) >> 1);
    const candidate = build(n);
    if (candidate.bytes <= max) {
      lo = n;
      best = candidate;
    } else {
      hi = n;
      over = candidate;
    }
  }
  return best;
}

const CLOSE_ENOUGH_BYTES = 16;
const SECANT_ROUNDS = 4;

/** The most bytes `record` takes in a record batch (v2, uncompressed). */
export function recordBytes(record: OutgoingMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + byteLength(v ?? null);
    }
  }
  return bytes;
}

/**
 * Consecutive chunks of `items`, in order, each of at most `maxBytes` by `bytesOf` (an item
 * larger than that alone makes a chunk of its own).
 */
export function chunksByBytes<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (chunk.length > 0 && size + bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(item);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function byteLength(data: string | Buffer | null): number {
  if (data === null) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}
