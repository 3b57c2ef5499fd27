import { kafkajsModule, replaceKafkajsModule } from './kafkajs-module';

// kafkajs 2.2.4's consumer Batch (consumer/batch.js) keeps the fetched messages at or after the
// fetched offset by comparing each one's offset as a Long parsed from its decimal string (a Long
// and a BigInt a consumed message: the last per-record Long of kafkajs's fetch path once
// libs/kafka's record decoder reads records without them, kafkajs-record-decoder.patch.ts), then
// copies the messages twice (those at or after the offset, then those not control records).
// Together ~110 B of garbage a consumed message in rating's allocation profile (ADR 14). Here the
// Batch that kafkajs's consumer group constructs compares the offsets as numbers whenever both
// are canonical decimal safe integers (every offset below 2^53), through kafkajs's Long for
// anything else, and keeps the fetched array itself when no message is dropped (no earlier
// offset, no control record, no aborted transaction): kafkajs never changes a batch's arrays after
// it is made. Its methods are kafkajs's own (its prototype): the same batch, field for field
// (kafkajs-batch.patch.spec.ts). It must be in place before kafkajs loads its consumer group,
// which requires the Batch once: libs/kafka's index imports it first.

interface BatchMessage {
  readonly offset: string;
  readonly isControlRecord?: boolean;
}

interface PartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly abortedTransactions?: readonly unknown[];
  readonly messages: readonly BatchMessage[];
}

type BatchClass = (new (topic: string, fetchedOffset: unknown, data: PartitionData) => object) & {
  prototype: object;
  [PATCHED]?: true;
};

interface LongValue {
  gte(other: LongValue): boolean;
}
interface LongClass {
  fromValue(value: unknown): LongValue;
}

type FilterAborted = (args: {
  messages: readonly BatchMessage[];
  abortedTransactions: readonly unknown[] | undefined;
}) => readonly BatchMessage[];

const PATCHED = Symbol.for('metering.kafkajs.batch.numbers');
const BATCH_MODULE = 'kafkajs/src/consumer/batch';

/** kafkajs's consumer Batch as its consumer group gets it: this one once patched. */
export function kafkajsBatch(): BatchClass {
  return kafkajsModule<BatchClass>(BATCH_MODULE);
}

/**
 * An offset (kafkajs's decimal string) as a number when it is a canonical non-negative decimal
 * below 2^53 (digits only, no leading zero); NaN otherwise (then compared through a Long).
 */
export function offsetNumber(offset: unknown): number {
  if (typeof offset !== 'string') return NaN;
  const n = offset.length;
  if (n === 0 || n > 16 || (n > 1 && offset.charCodeAt(0) === 0x30)) return NaN;
  for (let i = 0; i < n; i++) {
    const c = offset.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return NaN;
  }
  const value = Number(offset);
  return Number.isSafeInteger(value) ? value : NaN;
}

/** kafkajs's Batch with its offsets compared as numbers where exact, and no copy that drops none. */
export function numberOffsetBatch(
  Original: BatchClass,
  Long: LongClass,
  filterAbortedMessages: FilterAborted,
): BatchClass {
  class Batch {
    readonly fetchedOffset: unknown;
    readonly topic: string;
    readonly partition: number;
    readonly highWatermark: string;
    readonly rawMessages: readonly BatchMessage[];
    readonly messagesWithinOffset: readonly BatchMessage[];
    readonly messages: readonly BatchMessage[];

    constructor(topic: string, fetchedOffset: unknown, partitionData: PartitionData) {
      this.fetchedOffset = fetchedOffset;
      const { abortedTransactions, messages } = partitionData;
      this.topic = topic;
      this.partition = partitionData.partition;
      this.highWatermark = partitionData.highWatermark;
      this.rawMessages = messages;
      const fetched = offsetNumber(fetchedOffset);
      // kafkajs reads the fetched offset as a Long at once (and throws here for one it cannot);
      // a canonical decimal it can always read, so that one is read only if a message needs it.
      let longFetched = Number.isNaN(fetched) ? Long.fromValue(fetchedOffset) : null;
      const atOrAfter = (message: BatchMessage): boolean => {
        const offset = offsetNumber(message.offset);
        if (!Number.isNaN(offset) && !Number.isNaN(fetched)) return offset >= fetched;
        longFetched ??= Long.fromValue(fetchedOffset);
        return Long.fromValue(message.offset).gte(longFetched);
      };
      this.messagesWithinOffset = messages.every(atOrAfter) ? messages : messages.filter(atOrAfter);
      const kept = filterAbortedMessages({
        messages: this.messagesWithinOffset,
        abortedTransactions,
      });
      this.messages = kept.some((message) => Boolean(message.isControlRecord))
        ? kept.filter((message) => !message.isControlRecord)
        : kept;
    }
  }
  // kafkajs's methods (isEmpty, firstOffset, offsetLag, …) on the batches it makes.
  Object.setPrototypeOf(Batch.prototype, Original.prototype);
  return Batch;
}

/** Puts the Batch with number offsets in place of kafkajs's (once per process). */
export function patchKafkajsBatch(): void {
  replaceKafkajsModule<BatchClass>(BATCH_MODULE, PATCHED, (original) =>
    numberOffsetBatch(
      original,
      kafkajsModule<LongClass>('kafkajs/src/utils/long'),
      kafkajsModule<FilterAborted>('kafkajs/src/consumer/filterAbortedMessages'),
    ),
  );
}

patchKafkajsBatch();
