// The minimum batch window (issue 19, item 2; docs/adr/0014-rating-scale-out.md, section 6):
// admitted batches of a partition gathered across fetches, so that a caught-up rating writes the
// ledger once per window and partition rather than once per fetch. The window runs from when its
// first message was gathered; once the partition is caught up (nothing past what is held), from
// when that message reached Kafka (its timestamp) if that is earlier: the end of a backlog older
// than the window (after an outage, a restart, a rebalance) is rated at once, not held again.
// Pure bookkeeping: no timers, no I/O (the consumer's runner, rating.consumer.ts, keeps the timers
// and the flushes).
import { type ConsumedBatch, type ConsumedMessage, messageBytes } from '@metering/kafka';

export interface BatchWindowLimits {
  /** How long a partition's first held message may wait before the batch is rated; 0: no window. */
  readonly windowMs: number;
  /** A partition's held key and value bytes at which its batch is rated at once. */
  readonly maxBytes: number;
  /** A partition's held messages at which its batch is rated at once. */
  readonly maxMessages: number;
}

/** What one partition holds: messages in offset order, never empty, never committed. */
export interface HeldBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ConsumedMessage[];
  bytes: number;
  highWatermark: string;
  /** When its first message was gathered (the window runs from there until caught up). */
  readonly sinceMs: number;
  /**
   * When its first message reached Kafka (windowStart: its timestamp, or `sinceMs` when that is
   * not earlier or not a time): where the window runs from once the partition is caught up.
   */
  readonly appendedMs: number;
  /** The window's generation: a batch taken before a clear() is not put back after it. */
  readonly epoch: number;
}

export type Gathered =
  /** Held: nothing to rate before `dueAtMs` (unless more comes); the timer goes there. */
  | { readonly kind: 'held'; readonly dueAtMs: number }
  /** The window or a cap is reached: take() the partition's batch and rate it. */
  | { readonly kind: 'due' };

/**
 * Per partition, the admitted messages not rated yet. Invariant: a partition's held messages
 * are contiguous with the position stored in the ledger (the offset continuity guard admitted
 * each batch in line with the one before it) and none is in the ledger; so dropping them loses
 * nothing (their offsets were never stored: they are read again), and rating them is what rating
 * each fetch at once would have done.
 *
 * A batch delivered again (kafkajs re-delivers a batch whose handler threw, e.g. a failed
 * flush, and the guard re-reads the last message of each batch to verify it) adds only its
 * messages past the last one held: an offset is never held twice.
 */
export class BatchWindow {
  private readonly held = new Map<number, HeldBatch>();
  private epoch = 0;

  constructor(readonly limits: BatchWindowLimits) {
    if (limits.windowMs < 0 || limits.maxBytes < 1 || limits.maxMessages < 1) {
      throw new RangeError(`batch window limits out of range: ${JSON.stringify(limits)}`);
    }
  }

  /** false: every admitted batch is rated at once (RATING_BATCH_WINDOW_MS=0). */
  get enabled(): boolean {
    return this.limits.windowMs > 0;
  }

  /** Adds an admitted batch to its partition's held messages and says whether they are due. */
  gather(batch: ConsumedBatch, nowMs: number): Gathered {
    let held = this.held.get(batch.partition);
    const started =
      held === undefined || BigInt(batch.firstOffset) < BigInt(held.messages[0]!.offset);
    if (held === undefined || started) {
      // Nothing held, or a batch that starts before what is held (the position was re-sought
      // from the ledger): what is held is dropped and read again after this batch.
      held = {
        topic: batch.topic,
        partition: batch.partition,
        messages: [],
        bytes: 0,
        highWatermark: batch.highWatermark,
        sinceMs: nowMs,
        appendedMs: windowStart(batch.messages[0]!.timestamp, nowMs),
        epoch: this.epoch,
      };
      this.held.set(batch.partition, held);
    }
    // A batch's messages are in offset order: skip those delivered again (held already), then
    // hold the rest without parsing each message's offset.
    const last = held.messages.length === 0 ? -1n : BigInt(held.messages.at(-1)!.offset);
    const { messages } = batch;
    let from = 0;
    while (from < messages.length && BigInt(messages[from]!.offset) <= last) from += 1;
    for (let i = from; i < messages.length; i++) {
      const message = messages[i]!;
      held.messages.push(message);
      held.bytes += messageBytes(message);
    }
    if (BigInt(batch.highWatermark) > BigInt(held.highWatermark)) {
      held.highWatermark = batch.highWatermark;
    }
    const { maxBytes, maxMessages } = this.limits;
    const dueAtMs = this.due(held);
    if (nowMs >= dueAtMs || held.bytes >= maxBytes || held.messages.length >= maxMessages) {
      return { kind: 'due' };
    }
    return { kind: 'held', dueAtMs };
  }

  /** When the partition's held messages are due (null: none held). */
  dueAt(partition: number): number | null {
    const held = this.held.get(partition);
    return held === undefined ? null : this.due(held);
  }

  /**
   * The window's end: from the gathering while the broker has more of the partition (its next
   * fetch follows at once, and a backlog's batches fill a cap), from the first message reaching
   * Kafka once the partition is caught up. A high watermark past the last message held that never
   * closes (a transaction's marker takes an offset) leaves the window from the gathering: never
   * later than without timestamps.
   */
  private due(held: HeldBatch): number {
    const caughtUp = BigInt(held.messages.at(-1)!.offset) + 1n >= BigInt(held.highWatermark);
    return (caughtUp ? held.appendedMs : held.sinceMs) + this.limits.windowMs;
  }

  /** The first offset the partition holds: where its stored position is (null: none held). */
  heldFrom(partition: number): string | null {
    return this.held.get(partition)?.messages[0]?.offset ?? null;
  }

  /** Takes the partition's held messages out, as one batch to rate (null: none held). */
  take(partition: number): { readonly batch: ConsumedBatch; readonly held: HeldBatch } | null {
    const held = this.held.get(partition);
    if (held === undefined) return null;
    this.held.delete(partition);
    return { batch: toBatch(held), held };
  }

  /**
   * Puts back what take() gave when rating it failed: it is rated again with what comes next.
   * Not after a clear() (the partition was assigned again: its position is read from the
   * ledger), nor over messages held since (none, while the runner serializes a partition).
   */
  restore(held: HeldBatch): void {
    if (held.epoch !== this.epoch || this.held.has(held.partition)) return;
    this.held.set(held.partition, held);
  }

  /** Drops everything held (every assignment: positions are sought from the ledger again). */
  clear(): void {
    this.epoch += 1;
    this.held.clear();
  }

  /** The partitions holding messages. */
  partitions(): number[] {
    return [...this.held.keys()];
  }

  /** Messages held across partitions (a gauge). */
  get messageCount(): number {
    let n = 0;
    for (const held of this.held.values()) n += held.messages.length;
    return n;
  }
}

// Decimal digits only, at most 16 (Number() would also read hex, exponents and blanks).
const EPOCH_MS = /^[0-9]{1,16}$/;

/**
 * The window's start for a first message with this Kafka timestamp, gathered at `nowMs`: the
 * timestamp (epoch milliseconds: the producer's CreateTime or the broker's LogAppendTime) when it
 * is a positive safe integer no later than `nowMs`, else `nowMs`. It only ever makes a batch due
 * sooner than a window from its gathering: a timestamp in the future (a producer's clock ahead) or
 * not a time (-1 for "none", garbage) changes nothing, and one in the past (a backlog, an old
 * sample, a producer's clock behind) costs at most what a window of 0 does, a write per fetch.
 */
export function windowStart(timestamp: string, nowMs: number): number {
  if (!EPOCH_MS.test(timestamp)) return nowMs;
  const ms = Number(timestamp);
  return Number.isSafeInteger(ms) && ms > 0 && ms < nowMs ? ms : nowMs;
}

function toBatch(held: HeldBatch): ConsumedBatch {
  const first = held.messages[0]!;
  const last = held.messages[held.messages.length - 1]!;
  return {
    topic: held.topic,
    partition: held.partition,
    messages: held.messages,
    firstOffset: first.offset,
    lastOffset: last.offset,
    nextOffset: (BigInt(last.offset) + 1n).toString(),
    highWatermark: held.highWatermark,
  };
}
