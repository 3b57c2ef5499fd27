// The collectors' publishing API for metering.samples.v1: publish, flush, close and health, over
// two halves that run on their own: pending-writer.ts (memory → disk) and spool-forwarder.ts
// (disk → Kafka); health types and indicators in spool-health.ts.
import { performance } from 'node:perf_hooks';
import { encodeSample, sampleKey, TOPICS, type SampleEvent } from '@metering/contracts';
import {
  createLogger,
  type HealthIndicator,
  type Logger,
  type MetricsRegistry,
} from '@metering/observability';
import { DiskSpool } from './disk-spool';
import { PendingWriter } from './pending-writer';
import { sleep } from './publisher-support';
import { sampleThinMarker } from './sample-thin-marker';
import { SpoolForwarder } from './spool-forwarder';
import {
  forwarderLiveness,
  isoOrNull,
  spoolReadiness,
  type SpoolHealth,
  type SpoolHealthStatus,
} from './spool-health';
import { resolveSpoolSettings, type SpoolSettings } from './spool.config';
import { PublisherClosedError, RecordTooLargeError } from './spool.errors';
import { SpoolMetrics } from './spool.metrics';
import { type SpoolProducerFactory } from './spool-producer';

export { type SpoolHealth, type SpoolHealthStatus } from './spool-health';

export interface SpooledPublisherOptions {
  /** The spool directory: must survive restarts of the collector. */
  dir: string;
  /** Makes the Kafka producer; see kafkaSpoolProducer. */
  producer: SpoolProducerFactory;
  /** Default TOPICS.samples. */
  topic?: string;
  settings?: Partial<SpoolSettings>;
  /** Parent logger; lines carry context `SpooledPublisher` / `DiskSpool`. */
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Epoch milliseconds. */
  now?: () => number;
  /**
   * Headers each record is sent with, made from its key and value when it is sent (not when it
   * is spooled, so a rotated key signs what is still spooled): the per-host MAC (ADR 0010).
   */
  sign?: (key: Buffer, value: Buffer) => Record<string, string>;
}

type State = 'running' | 'closing' | 'closed';

/**
 * The collectors' publishing API for `metering.samples.v1`.
 *
 * publish() validates and encodes the sample, then only queues it in memory: it never waits
 * for Kafka or the disk. Every lingerMs the queue is appended to the DiskSpool. One
 * forwarder loop sends spool records to Kafka in spool order, in batches of up to
 * maxBatchRecords, and acks the spool only after Kafka acknowledged the batch (acks=all);
 * a failed batch is retried, identical, after an exponential capped backoff, forever.
 * Per-resource order therefore holds end to end: one ordered spool, one sender, one
 * request in flight, key = resource id.
 *
 * What was spooled and not sent survives close() and crashes; start() resumes sending it.
 * Delivery is at-least-once across restarts (a batch sent but not yet acked is sent again);
 * the deterministic sampleId is the dedup key downstream.
 */
export class SpooledPublisher {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly writer: PendingWriter;
  private readonly forwarder: SpoolForwarder;
  private state: State = 'running';
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly spool: DiskSpool,
    private readonly settings: SpoolSettings,
    options: SpooledPublisherOptions,
    metrics: SpoolMetrics,
    logger: Logger,
  ) {
    this.logger = logger;
    this.now = options.now ?? Date.now;
    this.forwarder = new SpoolForwarder(spool, settings, metrics, logger, {
      topic: options.topic ?? TOPICS.samples,
      createProducer: options.producer,
      sign: options.sign,
      now: this.now,
    });
    this.writer = new PendingWriter(spool, settings, metrics, logger, this.now, {
      appended: () => this.forwarder.wake(),
      running: () => this.state === 'running',
    });
  }

  /**
   * Opens the spool (recovering a previous run's records) and starts the forwarder, which
   * connects to Kafka in the background: start() succeeds while Kafka is down.
   */
  static async start(options: SpooledPublisherOptions): Promise<SpooledPublisher> {
    const settings = resolveSpoolSettings(options.settings);
    const metrics = new SpoolMetrics(options.metrics);
    const parent = options.logger;
    const logger = createLogger('SpooledPublisher', parent ? { parent } : {});
    const spool = await DiskSpool.open(options.dir, {
      settings,
      metrics,
      // Its records are samples: what thinning drops is said on the next one (ADR 0013).
      thinMarker: sampleThinMarker,
      ...(parent ? { logger: parent } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    const publisher = new SpooledPublisher(spool, settings, options, metrics, logger);
    publisher.forwarder.start();
    return publisher;
  }

  /**
   * Queues one sample for Kafka. Synchronous and cheap; never waits on Kafka or the disk.
   * Throws ContractViolationError for an invalid sample, PublisherClosedError after close().
   */
  publish(sample: SampleEvent): Buffer {
    if (this.state !== 'running') throw new PublisherClosedError();
    const value = encodeSample(sample);
    const key = Buffer.from(sampleKey(sample), 'utf8');
    if (key.length + value.length > this.settings.maxRecordBytes) {
      throw new RecordTooLargeError(key.length + value.length, this.settings.maxRecordBytes);
    }
    this.writer.queue({ key, value, lifecycle: sample.lifecycle });
    return value;
  }

  /**
   * Waits until every sample published so far is acknowledged by Kafka. Resolves true when
   * drained, false at the timeout (nothing is lost then: the rest stays spooled).
   */
  async flush(timeoutMs: number = this.settings.closeTimeoutMs): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    this.writer.writeNow();
    for (;;) {
      if (this.drained()) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await sleep(Math.min(20, left));
    }
  }

  /**
   * Stops cleanly: no more publish(); pending samples are written to the spool; sending
   * continues until everything is acknowledged or the timeout passes; what is left stays on
   * disk for the next start(). Then the producer is disconnected. Safe to call twice.
   */
  close(timeoutMs: number = this.settings.closeTimeoutMs): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  /** Samples not yet acknowledged by Kafka: in memory and on disk. */
  depth(): number {
    return this.writer.count() + this.spool.depth();
  }

  health(): SpoolHealth {
    const now = this.now();
    const forwarder = this.forwarder.state();
    const oldest = forwarder.oldestInflightAt ?? this.writer.oldestSince();
    const oldestUnsentAgeMs = oldest === undefined ? 0 : Math.max(0, now - oldest);
    const writeError = this.writer.writeError;
    const status: SpoolHealthStatus =
      this.state !== 'running' || writeError !== null || forwarder.forwarderError !== null
        ? 'down'
        : forwarder.lastSendError !== null || oldestUnsentAgeMs > this.settings.degradedAfterMs
          ? 'degraded'
          : 'up';
    return {
      status,
      depth: this.spool.depth(),
      pending: this.writer.count(),
      bytes: this.spool.bytes(),
      oldestUnsentAgeMs,
      consecutiveSendFailures: forwarder.consecutiveSendFailures,
      lastSendError: forwarder.lastSendError,
      lastSendErrorAt: isoOrNull(forwarder.lastSendErrorAt),
      lastSentAt: isoOrNull(forwarder.lastSentAt),
      spoolWriteError: writeError ?? forwarder.forwarderError,
    };
  }

  /** Readiness: see spoolReadiness (`degraded` reports as up, with the detail). */
  healthIndicator(): HealthIndicator {
    return spoolReadiness(() => this.health());
  }

  /** Liveness: down only once the Kafka forwarder stopped for good (see forwarderLiveness). */
  livenessIndicator(): HealthIndicator {
    return forwarderLiveness(() => this.forwarder.state().forwarderError);
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'closing';
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    await this.writer.close();
    const drained = await this.flush(left());
    await this.forwarder.stop(Math.max(left(), 100));
    await this.spool.close();
    await this.forwarder.dropProducer(Math.max(left(), 1_000));
    this.state = 'closed';
    this.logger.info(
      { drained, spooled: this.spool.depth(), bytes: this.spool.bytes() },
      drained
        ? 'publisher closed, spool empty'
        : 'publisher closed; spooled samples wait for the next start',
    );
  }

  private drained(): boolean {
    return (
      this.writer.count() === 0 && this.forwarder.state().inflight === 0 && this.spool.depth() === 0
    );
  }
}
