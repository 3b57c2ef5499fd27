// What the consumer hands a handler: a partition's batch of messages with its offsets, what the
// handler may do meanwhile (signal, heartbeat) and what it answers; made from kafkajs's batch.
import { type EachBatchPayload, type IHeaders } from 'kafkajs';
import { compareOffsets, isOffset, nextOffset } from './kafka-offsets';
import { LeanRecord, type RecordParts } from './kafkajs-record-decoder.patch';

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Epoch milliseconds as a string, as the broker stored it. */
  timestamp: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** In offset order; never empty. */
  messages: readonly ConsumedMessage[];
  firstOffset: string;
  lastOffset: string;
  /** Where to resume after this whole batch (lastOffset + 1): the offset to store. */
  nextOffset: string;
  highWatermark: string;
}

export interface BatchContext {
  /**
   * Aborted when the consumer is stopping or the group is rebalancing: a long handler may
   * stop early by throwing (the batch is then delivered again).
   */
  signal: AbortSignal;
  /** Tells the group this member is alive; the consumer also does so on a timer. */
  heartbeat(): Promise<void>;
}

/**
 * What the handler processed. Returning nothing means the whole batch; a
 * `lastProcessedOffset` of null means none of it (it is fetched again).
 */
export type BatchResult = void | { lastProcessedOffset: string | null };

export type BatchHandler = (
  batch: ConsumedBatch,
  context: BatchContext,
) => Promise<BatchResult> | BatchResult;

export function withinBatch(batch: ConsumedBatch, offset: string): boolean {
  return (
    isOffset(offset) &&
    compareOffsets(offset, batch.firstOffset) >= 0 &&
    compareOffsets(offset, batch.lastOffset) <= 0
  );
}

/**
 * A kafkajs message as this library hands it out: the lean decoder's record itself (its key,
 * value and headers read from its bytes when asked for), or a copy of kafkajs's fields.
 */
export function toConsumedMessage(
  topic: string,
  partition: number,
  message: EachBatchPayload['batch']['messages'][number],
): ConsumedMessage {
  if (message instanceof LeanRecord) {
    message.topic = topic;
    message.partition = partition;
    return message;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
  };
}

/**
 * A message's key and value bytes together (null: 0): a batch window's measure. A lean record
 * counts them without making a buffer over either.
 */
export function messageBytes(message: ConsumedMessage): number {
  if (message instanceof LeanRecord) return message.keyValueBytes();
  return (message.key?.length ?? 0) + (message.value?.length ?? 0);
}

/**
 * Where a message's key and value are, as ranges [start, end) of one byte array (-1 and -1: null),
 * without the buffer a read of `key` or `value` makes over each: for loops that only read bytes
 * (rating's pre-scan and key check, ~4 % of its main thread in views). The object is reused: valid
 * until the next call. null for a message that is not a lean record (read `key` and `value`).
 * The array holds other records' bytes around these: a reader must keep within the ranges.
 */
export function messageParts(message: ConsumedMessage): Readonly<RecordParts> | null {
  if (!(message instanceof LeanRecord)) return null;
  message.partsInto(PARTS);
  return PARTS;
}

const PARTS: RecordParts = {
  bytes: Buffer.alloc(0),
  keyStart: -1,
  keyEnd: -1,
  valueStart: -1,
  valueEnd: -1,
};

export function toConsumedBatch({ batch }: EachBatchPayload): ConsumedBatch {
  const messages = batch.messages.map((message) =>
    toConsumedMessage(batch.topic, batch.partition, message),
  );
  const first = messages[0]!;
  const last = messages[messages.length - 1]!;
  return {
    topic: batch.topic,
    partition: batch.partition,
    messages,
    firstOffset: first.offset,
    lastOffset: last.offset,
    nextOffset: nextOffset(last.offset),
    highWatermark: batch.highWatermark,
  };
}
