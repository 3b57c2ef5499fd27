import {
  type Counter,
  type Gauge,
  type Histogram,
  type MetricsRegistry,
} from '@metering/observability';

/** Why records left the spool without reaching Kafka. */
export const DROP_REASONS = ['thinned', 'no_room', 'memory_full'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * The spool's series, prefixed by MetricsRegistry with the service name
 * (`docker_collector_spool_depth_records`...). Without a registry every call is a no-op.
 * Several spools in one registry share the series (the gauges then show the last writer).
 */
export class SpoolMetrics {
  private readonly published?: Counter;
  private readonly sent?: Counter;
  private readonly dropped?: Counter<'reason'>;
  private readonly sendErrors?: Counter<'retriable'>;
  private readonly writeErrors?: Counter;
  private readonly depthGauge?: Gauge;
  private readonly bytesGauge?: Gauge;
  private readonly sendSeconds?: Histogram;

  constructor(registry?: MetricsRegistry) {
    if (registry === undefined) return;
    this.published = registry.counter({
      name: 'spool_samples_published_total',
      help: 'Samples accepted by publish()',
    });
    this.sent = registry.counter({
      name: 'spool_samples_sent_total',
      help: 'Spooled samples acknowledged by Kafka (acks=all) and removed from the spool',
    });
    this.dropped = registry.counter({
      name: 'spool_thinned_records_total',
      help:
        'Running samples dropped because the spool was full: thinned (oldest first), ' +
        'no_room (nothing left to thin) or memory_full (disk writes failing)',
      labelNames: ['reason'],
    });
    // Every reason at 0 from the start: increase() and alerts see the first drop, not a series
    // that appears at its first value.
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    this.sendErrors = registry.counter({
      name: 'spool_send_errors_total',
      help: 'Failed Kafka send attempts of a spool batch (each is retried)',
      labelNames: ['retriable'],
    });
    this.writeErrors = registry.counter({
      name: 'spool_write_errors_total',
      help: 'Failed appends to the on-disk spool (the batch stays in memory and is retried)',
    });
    this.depthGauge = registry.gauge({
      name: 'spool_depth_records',
      help: 'Samples in the on-disk spool not yet acknowledged by Kafka',
    });
    this.bytesGauge = registry.gauge({
      name: 'spool_bytes',
      help: 'Size of the spool segment files on disk',
    });
    this.sendSeconds = registry.histogram({
      name: 'spool_send_duration_seconds',
      help: 'Time from sending a spool batch to Kafka until all in-sync replicas acknowledged it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  samplesPublished(count: number): void {
    this.published?.inc(count);
  }

  samplesSent(count: number, seconds: number): void {
    this.sent?.inc(count);
    this.sendSeconds?.observe(seconds);
  }

  recordsDropped(reason: DropReason, count: number): void {
    if (count > 0) this.dropped?.inc({ reason }, count);
  }

  sendFailed(retriable: boolean): void {
    this.sendErrors?.inc({ retriable: String(retriable) });
  }

  writeFailed(): void {
    this.writeErrors?.inc();
  }

  spoolSize(depth: number, bytes: number): void {
    this.depthGauge?.set(depth);
    this.bytesGauge?.set(bytes);
  }
}
