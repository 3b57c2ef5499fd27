import { type BatchResult, type ConsumedBatch, type KafkaConsumer } from '@metering/kafka';
import { type HealthIndicator, type Logger } from '@metering/observability';
import { type BatchFingerprints } from './message-fingerprint';
import { type OffsetContinuityGuard } from './offset-continuity.guard';
import { type RatingMetrics } from './rating.metrics';
import { type BatchOutcome, type SampleBatchProcessor } from './sample-batch.processor';

/**
 * The samples topic's consumer and what it does with each batch: admitted by offset continuity,
 * rated and committed by the processor in one transaction, counted. Started by RatingService;
 * the consumer itself (its positions in the ledger, its crash) is made in the pipeline providers.
 */
export class RatingConsumer {
  constructor(
    private readonly consumer: KafkaConsumer,
    private readonly continuity: OffsetContinuityGuard,
    private readonly processor: SampleBatchProcessor,
    private readonly fingerprints: BatchFingerprints,
    private readonly metrics: RatingMetrics,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  start(): Promise<void> {
    return this.consumer.start((consumed) => this.consume(consumed));
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }

  private async consume(consumed: ConsumedBatch): Promise<BatchResult> {
    const { continuity, metrics } = this;
    // A batch out of line with the stored position is never rated on a guess: the guard
    // decides again, and stops the partition rather than skip or rate it silently.
    const admitted = await continuity.admit(consumed);
    if (admitted.kind === 'hold') return { lastProcessedOffset: null };
    if (admitted.kind === 'verified') return; // only the message read to verify: resolved
    const batch = admitted.batch;
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
    continuity.committed(batch);
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
