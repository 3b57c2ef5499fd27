import {
  type Counter,
  type Gauge,
  type Histogram,
  type MetricsRegistry,
} from '@metering/observability';
import { PartitionFailures } from './partition-failures';

/**
 * The consumer's metrics (batches, messages by outcome, dead letters, clipping, repricing, batch
 * durations and phases, lag) and the partitions whose batches keep failing.
 */
export class RatingMetrics {
  readonly batches: Counter;
  readonly messages: Counter<'outcome'>;
  readonly deadLettered: Counter;
  readonly clipped: Counter;
  readonly clippedCpu: Counter;
  readonly repriced: Counter;
  readonly batchSeconds: Histogram;
  readonly batchSize: Histogram;
  readonly phaseSeconds: Histogram<'phase'>;
  readonly isolating: Counter;
  readonly batchFailures: Counter;
  readonly failures: PartitionFailures;
  private readonly lag: Gauge<'topic' | 'partition'>;
  private readonly held: Gauge;

  constructor(metrics: MetricsRegistry, partitionStallMs: number, now: () => number) {
    this.batches = metrics.counter({
      name: 'batches_total',
      help: 'Batches committed to the ledger',
    });
    this.messages = metrics.counter({
      name: 'messages_total',
      help: 'Consumed sample messages by outcome',
      labelNames: ['outcome'],
    });
    this.deadLettered = metrics.counter({
      name: 'dead_lettered_total',
      help: 'Samples sent to the DLQ',
    });
    this.clipped = metrics.counter({
      name: 'clipped_intervals_total',
      help: 'Samples accounting for more than MAX_INTERVAL_MS: only the last part was rated',
    });
    this.repriced = metrics.counter({
      name: 'repriced_months_total',
      help: 'Tenant months priced again after their plan assignments changed',
    });
    this.clippedCpu = metrics.counter({
      name: 'clipped_cpu_core_seconds_total',
      help: 'CPU of the parts beyond MAX_INTERVAL_MS, reported and not rated',
    });
    this.batchSeconds = metrics.histogram({
      name: 'batch_duration_seconds',
      help: 'Time to rate and commit one partition batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.batchSize = metrics.histogram({
      name: 'batch_size_messages',
      help: 'Messages per partition batch (including ones already in the ledger)',
      buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000],
    });
    this.phaseSeconds = metrics.histogram({
      name: 'batch_phase_seconds',
      help: 'Time per phase of a batch: prepare (decode, rate, instance states, plan), write (ledger and Kafka acknowledgements), commit',
      labelNames: ['phase'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.isolating = metrics.counter({
      name: 'batch_isolations_total',
      help: 'Batches split because they failed for a reason that is not the infrastructure (a message may be to blame)',
    });
    this.batchFailures = metrics.counter({
      name: 'batch_failures_total',
      help: 'Batch attempts that failed and will be retried from the stored offset',
    });
    this.failures = new PartitionFailures(partitionStallMs);
    const failures = this.failures;
    metrics.gauge({
      name: 'partition_failing_seconds',
      help: 'How long each partition whose batches keep failing has been failing (absent: none is)',
      labelNames: ['topic', 'partition'],
      collect() {
        this.reset();
        for (const f of failures.failing(now())) {
          this.set({ topic: f.topic, partition: String(f.partition) }, f.failingSeconds);
        }
      },
    });
    metrics.gauge({
      name: 'failing_partitions',
      help: 'Partitions whose batches are failing now (retried from the stored offset)',
      collect() {
        this.set(failures.failing(now()).length);
      },
    });
    this.lag = metrics.gauge({
      name: 'consumer_lag_messages',
      help: 'High watermark minus the next offset, per partition, after the last batch',
      labelNames: ['topic', 'partition'],
    });
    this.held = metrics.gauge({
      name: 'batch_window_held_messages',
      help: 'Messages admitted and held for the minimum batch window (RATING_BATCH_WINDOW_MS), not rated yet',
    });
  }

  setHeld(messages: number): void {
    this.held.set(messages);
  }

  setLag(labels: { topic: string; partition: string }, lag: bigint): void {
    this.lag.set(labels, Number(lag > 0n ? lag : 0n));
  }
}
