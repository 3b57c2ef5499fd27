import {
  type BatchResult,
  type ConsumedBatch,
  type KafkaConsumer,
  isRetriable,
  releaseRecordBytes,
} from '@metering/kafka';
import { type HealthIndicator, type Logger } from '@metering/observability';
import { type BatchWindow } from './batch-window';
import { type BatchFingerprints } from './message-fingerprint';
import { type OffsetContinuityGuard } from './offset-continuity.guard';
import { type RatingMetrics } from './rating.metrics';
import { type BatchOutcome, type SampleBatchProcessor } from './sample-batch.processor';

/** What the consumer needs besides its parts: the clock, and how to end the application. */
export interface RatingConsumerDeps {
  readonly logger: Logger;
  readonly now: () => number;
  /**
   * A held batch rated off a fetch (the window's timer) failed with an error retrying cannot cure:
   * what kafkajs's crash of the consumer does for a batch rated in a fetch (the application ends).
   */
  readonly fatal: (error: Error) => void;
}

/**
 * The samples topic's consumer and what it does with each batch: admitted by offset continuity,
 * gathered per partition for the minimum batch window (batch-window.ts; none with
 * RATING_BATCH_WINDOW_MS=0), rated and committed by the processor in one transaction, counted.
 * Started by RatingService; the consumer itself (its positions in the ledger, its crash) is made
 * in the pipeline providers.
 *
 * With a window, a partition's held batch is rated by the fetch that fills it or ends its window
 * (a failure is thrown to kafkajs, which fetches that batch again: the held messages stay, and
 * the ones delivered again are not held twice), or by a timer at the window's end when no fetch
 * comes (a caught-up partition). A partition's fetches and its timer take turns (one chain per
 * partition), and a timer runs only while something is held: an idle rating sleeps.
 */
export class RatingConsumer {
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Per partition, the tail of its turns (fetches and timer flushes, one at a time). */
  private readonly turns = new Map<number, Promise<unknown>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopping = false;

  constructor(
    private readonly consumer: KafkaConsumer,
    private readonly continuity: OffsetContinuityGuard,
    private readonly processor: SampleBatchProcessor,
    private readonly fingerprints: BatchFingerprints,
    private readonly metrics: RatingMetrics,
    private readonly window: BatchWindow,
    private readonly deps: RatingConsumerDeps,
  ) {
    this.logger = deps.logger;
    this.now = deps.now;
  }

  start(): Promise<void> {
    return this.consumer.start((consumed) => this.consume(consumed));
  }

  /**
   * Stops fetching (kafkajs waits for the batch in progress and leaves the group), then rates
   * what the window still holds. Its offsets were never stored: if that fails (or a new owner of
   * the partition got there first, which the offset row's lock makes harmless), the messages
   * are read again from the ledger's position; nothing is lost or rated twice.
   */
  async disconnect(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const held = this.window.partitions();
    await Promise.all(
      held.map((partition) =>
        this.turn(partition, () => this.flush(partition)).catch((error: unknown) =>
          this.logger.warn(
            { err: error, partition },
            'held batch not rated at shutdown: read again from the stored position',
          ),
        ),
      ),
    );
    this.window.clear();
  }

  private async consume(consumed: ConsumedBatch): Promise<BatchResult> {
    // A batch out of line with the stored position is never rated on a guess: the guard
    // decides again, and stops the partition rather than skip or rate it silently.
    const admitted = await this.continuity.admit(consumed);
    if (admitted.kind === 'hold') return { lastProcessedOffset: null };
    if (admitted.kind === 'verified') return; // only the message read to verify: resolved
    const batch = admitted.batch;
    if (!this.window.enabled) {
      await this.rate(batch, true);
      return;
    }
    await this.turn(batch.partition, () => this.gather(batch));
  }

  /**
   * Holds the batch, or rates what is held when the window or a cap is reached. Held: the
   * batch is resolved (its offsets are NOT stored) and the guard reads on from its last message
   * as after a commit, so every fetch is still verified against the one before it.
   */
  private async gather(batch: ConsumedBatch): Promise<void> {
    const gathered = this.window.gather(batch, this.now());
    if (gathered.kind === 'due') {
      await this.flush(batch.partition, true);
      return;
    }
    this.continuity.committed(batch);
    // Each fetch may move the window's end (the partition caught up: from its first message's
    // timestamp), so the timer goes where the window now ends.
    this.arm(batch.partition, gathered.dueAtMs);
    this.metrics.setHeld(this.window.messageCount);
    this.metrics.setLag(
      { topic: batch.topic, partition: String(batch.partition) },
      BigInt(batch.highWatermark) -
        BigInt(this.window.heldFrom(batch.partition) ?? batch.nextOffset),
    );
  }

  /** Rates what the partition holds (nothing held: nothing to do). Throws if rating fails. */
  private async flush(partition: number, inFetch = false): Promise<void> {
    clearTimeout(this.timers.get(partition));
    this.timers.delete(partition);
    const taken = this.window.take(partition);
    this.metrics.setHeld(this.window.messageCount);
    if (taken === null) return; // rated already, or dropped by an assignment
    try {
      // From a fetch, the guard reads on from this batch's last message; from the timer it
      // already does (each held batch moved it as it was gathered).
      await this.rate(taken.batch, inFetch);
    } catch (error) {
      this.window.restore(taken.held);
      this.metrics.setHeld(this.window.messageCount);
      throw error;
    }
  }

  /** A timer at the window's end, for a partition no fetch comes for. */
  private arm(partition: number, dueAtMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.timers.get(partition));
    const timer = setTimeout(
      () => {
        this.timers.delete(partition);
        this.turn(partition, () => this.flush(partition)).catch((error: unknown) =>
          this.timerFailed(partition, error),
        );
      },
      Math.max(0, dueAtMs - this.now()),
    );
    this.timers.set(partition, timer);
  }

  private timerFailed(partition: number, error: unknown): void {
    if (!isRetriable(error)) {
      this.logger.fatal({ err: error, partition }, 'held batch failed with a non-retriable error');
      this.deps.fatal(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // Held still: the next fetch of the partition or the next window's timer tries again.
    this.logger.warn({ err: error, partition }, 'held batch failed, will be retried');
    if (this.window.dueAt(partition) !== null) {
      this.arm(partition, this.now() + this.window.limits.windowMs);
    }
  }

  /** Runs `work` after the partition's previous turn, whatever that turn's outcome. */
  private turn(partition: number, work: () => Promise<void>): Promise<void> {
    const previous = this.turns.get(partition) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.turns.set(partition, tail);
    void tail.then(() => {
      if (this.turns.get(partition) === tail) this.turns.delete(partition);
    });
    return next;
  }

  /** Rates and commits one batch (a fetch's, or what a partition held), counted. */
  private async rate(batch: ConsumedBatch, advanceGuard: boolean): Promise<void> {
    const { continuity, metrics } = this;
    metrics.batchSize.observe(batch.messages.length);
    const partition = { topic: batch.topic, partition: String(batch.partition) };
    // Before rating: a partition whose batches keep failing must still show its lag.
    metrics.setLag(partition, BigInt(batch.highWatermark) - BigInt(batch.firstOffset));
    const end = metrics.batchSeconds.startTimer();
    this.fingerprints.track(batch);
    let outcome: BatchOutcome;
    try {
      outcome = await this.processor.process(batch);
    } catch (error) {
      metrics.failures.failed(batch.topic, batch.partition, error);
      metrics.batchFailures.inc();
      throw error;
    } finally {
      this.fingerprints.release(batch);
    }
    metrics.failures.succeeded(batch.topic, batch.partition);
    if (advanceGuard) continuity.committed(batch);
    // Committed, dead letters published, the guard's fingerprint taken: nothing reads the
    // messages' bytes again, so their record batches are freed now rather than at V8's next
    // full collection, whose start they would bring forward (ADR 14). A failed batch keeps them
    // (the window restores it).
    releaseRecordBytes(batch.messages);
    end();
    this.count(batch, outcome);
    metrics.setLag(partition, BigInt(batch.highWatermark) - BigInt(batch.nextOffset));
  }

  private count(batch: { topic: string; partition: number }, outcome: BatchOutcome): void {
    const { metrics } = this;
    metrics.batches.inc();
    metrics.messages.inc({ outcome: 'rated' }, outcome.rated);
    metrics.messages.inc({ outcome: 'duplicate' }, outcome.duplicates);
    metrics.messages.inc({ outcome: 'out_of_order' }, outcome.outOfOrder);
    metrics.messages.inc({ outcome: 'already_applied' }, outcome.skipped);
    metrics.messages.inc({ outcome: 'unrateable' }, outcome.unrateable);
    metrics.deadLettered.inc(outcome.deadLettered);
    if (outcome.repricedMonths > 0) {
      metrics.repriced.inc(outcome.repricedMonths);
      this.logger.info(
        { months: outcome.repricedMonths },
        'plan assignments changed: tenant months priced again',
      );
    }
    if (outcome.clipped > 0) {
      metrics.clipped.inc(outcome.clipped);
      metrics.clippedCpu.inc(outcome.clippedCoreSeconds);
      this.logger.warn(
        {
          topic: batch.topic,
          partition: batch.partition,
          clipped: outcome.clipped,
          clippedCoreSeconds: outcome.clippedCoreSeconds,
        },
        'samples accounting for more than MAX_INTERVAL_MS: only their last part was rated',
      );
    }
  }

  /** Down while a partition's batches have kept failing for longer than the stall limit. */
  readonly partitionsHealth: HealthIndicator = () => {
    const stalled = this.metrics.failures.stalled(this.now());
    return Promise.resolve(
      stalled.length === 0 ? { status: 'up' } : { status: 'down', detail: { stalled } },
    );
  };

  readonly consumerHealth: HealthIndicator = () => {
    const state = this.consumer.state;
    return Promise.resolve(
      state === 'running' ? { status: 'up' } : { status: 'down', detail: { state } },
    );
  };

  /**
   * For liveness: down only once the consumer stopped for good (kafkajs will not restart it).
   * Its crash already ends the application (ApplicationEnd); this restarts it if that shutdown
   * hangs. A Kafka or PostgreSQL outage never gets here: kafkajs retries and restarts the
   * consumer itself.
   */
  readonly consumerLiveness: HealthIndicator = () => {
    const state = this.consumer.state;
    return Promise.resolve(
      state === 'crashed' ? { status: 'down', detail: { state } } : { status: 'up' },
    );
  };
}
