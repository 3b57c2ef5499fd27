import { performance } from 'node:perf_hooks';
import { encodeSample, sampleKey, TOPICS, type SampleEvent } from '@metering/contracts';
import {
  type BackoffPolicy,
  backoffDelay,
  createLogger,
  type HealthIndicator,
  type Logger,
  type MetricsRegistry,
} from '@metering/observability';
import { sampleThinMarker } from './sample-thin-marker';
import { DiskSpool } from './disk-spool';
import { isTransient } from './send-error.classifier';
import { resolveSpoolSettings, type SpoolSettings } from './spool.config';
import { PublisherClosedError, RecordTooLargeError } from './spool.errors';
import { SpoolMetrics } from './spool.metrics';
import { type SpoolProducer, type SpoolProducerFactory } from './spool-producer';
import { type SpoolRecord, type SpoolRecordInput } from './spool-record';

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

/**
 * `up`: samples flow. `degraded`: Kafka is failing or slow and samples are spooling (the
 * collector is doing its job; do not restart it). `down`: samples are at risk (the spool
 * cannot be written) or the publisher is closed.
 */
export type SpoolHealthStatus = 'up' | 'degraded' | 'down';

export interface SpoolHealth {
  status: SpoolHealthStatus;
  /** Samples on disk not yet acknowledged by Kafka. */
  depth: number;
  /** Samples in memory waiting for the next disk append. */
  pending: number;
  bytes: number;
  /** Age of the oldest sample not yet acknowledged by Kafka; 0 when all are. */
  oldestUnsentAgeMs: number;
  consecutiveSendFailures: number;
  /** The last send error while the current failure streak lasts; null after a success. */
  lastSendError: string | null;
  lastSendErrorAt: string | null;
  lastSentAt: string | null;
  /** The last spool write error while writes are failing. */
  spoolWriteError: string | null;
}

type State = 'running' | 'closing' | 'closed';

/** Wait for new spool records at most this long before looking again anyway. */
const IDLE_POLL_MS = 1_000;
/** Log every failure of a streak up to this many, then every 10th. */
const LOUD_FAILURES = 3;

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
  private readonly metrics: SpoolMetrics;
  private readonly now: () => number;
  private readonly topic: string;
  private readonly stop = new AbortController();

  private state: State = 'running';
  private pending: SpoolRecordInput[] = [];
  private pendingSince = 0;
  /** Records taken from `pending` whose disk append has not finished. */
  private unwritten = 0;
  private writeTimer: NodeJS.Timeout | undefined;
  /** The write timer is armed with no delay. */
  private writeDue = false;
  private writing: Promise<void> = Promise.resolve();
  private writeFailures = 0;
  private spoolWriteError: string | null = null;

  private producer: SpoolProducer | undefined;
  private producerConnected = false;
  private inflight: SpoolRecord[] = [];
  private sendFailures = 0;
  private lastSendError: string | null = null;
  private lastSendErrorAt: number | null = null;
  private lastSentAt: number | null = null;
  private wakeForwarder: (() => void) | undefined;
  private forwarding: Promise<void> = Promise.resolve();
  /** Set when close() stopped waiting for a send: its outcome must not touch the spool. */
  private detached = false;
  /** The forwarder loop died (a bug): nothing is sent any more, health says down. */
  private forwarderError: string | null = null;
  private closing: Promise<void> | undefined;

  private readonly sign: SpooledPublisherOptions['sign'];

  private constructor(
    private readonly spool: DiskSpool,
    private readonly settings: SpoolSettings,
    private readonly createProducer: SpoolProducerFactory,
    options: SpooledPublisherOptions,
    metrics: SpoolMetrics,
    logger: Logger,
  ) {
    this.logger = logger;
    this.metrics = metrics;
    this.now = options.now ?? Date.now;
    this.topic = options.topic ?? TOPICS.samples;
    this.sign = options.sign;
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
    const publisher = new SpooledPublisher(
      spool,
      settings,
      options.producer,
      options,
      metrics,
      logger,
    );
    publisher.forwarding = publisher.forward().catch((error: unknown) => {
      publisher.forwarderError = errorText(error);
      logger.fatal({ err: error }, 'the Kafka forwarder stopped; samples only accumulate');
    });
    return publisher;
  }

  /**
   * Queues one sample for Kafka. Synchronous and cheap; never waits on Kafka or the disk.
   * Throws ContractViolationError for an invalid sample, PublisherClosedError after close().
   */
  publish(sample: SampleEvent): void {
    if (this.state !== 'running') throw new PublisherClosedError();
    const value = encodeSample(sample);
    const key = Buffer.from(sampleKey(sample), 'utf8');
    if (key.length + value.length > this.settings.maxRecordBytes) {
      throw new RecordTooLargeError(key.length + value.length, this.settings.maxRecordBytes);
    }
    if (this.pending.length === 0) this.pendingSince = this.now();
    this.pending.push({ key, value, lifecycle: sample.lifecycle });
    this.metrics.samplesPublished(1);
    if (this.pending.length > this.settings.maxPendingRecords) this.shedPending();
    this.scheduleWrite(
      this.pending.length >= this.settings.maxBatchRecords ? 0 : this.settings.lingerMs,
    );
  }

  /**
   * Waits until every sample published so far is acknowledged by Kafka. Resolves true when
   * drained, false at the timeout (nothing is lost then: the rest stays spooled).
   */
  async flush(timeoutMs: number = this.settings.closeTimeoutMs): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    if (this.pending.length > 0) {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
      void this.writePending();
    }
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
    return this.pending.length + this.unwritten + this.spool.depth();
  }

  health(): SpoolHealth {
    const now = this.now();
    const oldest =
      this.inflight[0]?.appendedAt ??
      (this.pending.length + this.unwritten > 0 ? this.pendingSince : undefined);
    const oldestUnsentAgeMs = oldest === undefined ? 0 : Math.max(0, now - oldest);
    const status: SpoolHealthStatus =
      this.state !== 'running' || this.spoolWriteError !== null || this.forwarderError !== null
        ? 'down'
        : this.lastSendError !== null || oldestUnsentAgeMs > this.settings.degradedAfterMs
          ? 'degraded'
          : 'up';
    return {
      status,
      depth: this.spool.depth(),
      pending: this.pending.length + this.unwritten,
      bytes: this.spool.bytes(),
      oldestUnsentAgeMs,
      consecutiveSendFailures: this.sendFailures,
      lastSendError: this.lastSendError,
      lastSendErrorAt: isoOrNull(this.lastSendErrorAt),
      lastSentAt: isoOrNull(this.lastSentAt),
      spoolWriteError: this.spoolWriteError ?? this.forwarderError,
    };
  }

  /**
   * For HealthRegistry.register('spool', …): `degraded` reports as up (with the detail),
   * because restarting a collector does not bring Kafka back and the spool is doing its job.
   */
  healthIndicator(): HealthIndicator {
    return () => {
      const health = this.health();
      return Promise.resolve({
        status: health.status === 'down' ? 'down' : 'up',
        detail: { ...health },
      });
    };
  }

  /**
   * For HealthRegistry.register(…, { probe: 'liveness' }): down only once the Kafka forwarder
   * stopped for good (a bug: it handles every Kafka and disk error itself, so outages never get
   * here). A restart cures it: the next start resumes the spool from disk.
   */
  livenessIndicator(): HealthIndicator {
    return () =>
      Promise.resolve(
        this.forwarderError === null
          ? { status: 'up' }
          : { status: 'down', detail: { forwarderError: this.forwarderError } },
      );
  }

  // ---- memory → disk ----------------------------------------------------------------------

  private scheduleWrite(delayMs: number): void {
    if (this.writeTimer !== undefined) {
      // Already due at once (a full batch): every later publish of the same tick joins it.
      if (delayMs > 0 || this.writeDue) return;
      clearTimeout(this.writeTimer);
    }
    this.writeDue = delayMs === 0;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      this.writeDue = false;
      void this.writePending();
    }, delayMs);
  }

  /** Appends everything pending, one append at a time; never rejects. */
  private writePending(): Promise<void> {
    this.writing = this.writing.then(() => this.writeOnce());
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.unwritten = batch.length;
      try {
        await this.spool.append(batch);
        this.unwritten = 0;
        if (this.writeFailures > 0) {
          this.logger.info({ failures: this.writeFailures }, 'spool writes work again');
        }
        this.writeFailures = 0;
        this.spoolWriteError = null;
        this.wakeForwarder?.();
      } catch (error) {
        // Back in front, order kept; retried after a backoff while the publisher runs.
        this.unwritten = 0;
        this.pending = batch.concat(this.pending);
        this.writeFailures++;
        this.spoolWriteError = errorText(error);
        this.metrics.writeFailed();
        if (this.pending.length > this.settings.maxPendingRecords) this.shedPending();
        this.logger.error(
          { err: error, pending: this.pending.length, failures: this.writeFailures },
          'could not append to the spool; samples stay in memory',
        );
        if (this.state === 'running') {
          this.scheduleWrite(backoffDelay(this.writeFailures, this.backoff()));
        }
        return;
      }
    }
  }

  /**
   * Only while disk appends fail can memory fill up: drops the oldest running samples down
   * to 90% of maxPendingRecords; start and final samples are kept whatever it costs.
   */
  private shedPending(): void {
    const target = Math.floor(this.settings.maxPendingRecords * 0.9);
    let excess = this.pending.length - target;
    let dropped = 0;
    this.pending = this.pending.filter((record) => {
      if (excess > 0 && record.lifecycle === 'running') {
        excess--;
        dropped++;
        return false;
      }
      return true;
    });
    if (dropped > 0) {
      this.metrics.recordsDropped('memory_full', dropped);
      this.logger.warn(
        { dropped, pending: this.pending.length, max: this.settings.maxPendingRecords },
        `spool unwritable and memory queue full: dropped ${dropped} of the oldest running samples`,
      );
    }
  }

  // ---- disk → Kafka -----------------------------------------------------------------------

  private async forward(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      if (this.inflight.length === 0) {
        try {
          this.inflight = await this.spool.peek(this.settings.maxBatchRecords);
        } catch (error) {
          if (signal.aborted) return;
          this.logger.error({ err: error }, 'could not read the spool');
          await sleep(this.settings.backoffMaxMs, signal, { unref: true });
          continue;
        }
        if (this.inflight.length === 0) {
          await this.waitForWork(signal);
          continue;
        }
        // close() gave up on Kafka while we were reading: leave the batch on disk.
        if (signal.aborted) return;
      }
      const batch = this.inflight;
      let sent = false;
      try {
        const producer = await this.connectedProducer();
        const started = performance.now();
        const sign = this.sign;
        await producer.send(
          this.topic,
          batch.map(({ key, value }) =>
            sign === undefined ? { key, value } : { key, value, headers: sign(key, value) },
          ),
        );
        sent = true;
        if (this.detached) return;
        await this.spool.ack(batch.length);
        this.inflight = [];
        this.metrics.samplesSent(batch.length, (performance.now() - started) / 1000);
        if (this.sendFailures > 0) {
          this.logger.info(
            { failures: this.sendFailures, depth: this.spool.depth() },
            'Kafka acknowledges again; sending the spooled samples',
          );
        }
        this.sendFailures = 0;
        this.lastSendError = null;
        this.lastSentAt = this.now();
      } catch (error) {
        if (this.detached) return;
        if (sent) {
          // Kafka has the batch but the spool could not record it: it will be sent again
          // (sampleId dedups it downstream). Read on from the spool's own position.
          this.inflight = [];
          this.logger.error({ err: error }, 'could not ack the spool after a successful send');
          await sleep(this.settings.backoffInitialMs, signal, { unref: true });
          continue;
        }
        await this.onSendFailure(error, batch.length, signal);
      }
    }
  }

  /** Equal jitter: many collectors must not hit a broker that just came back in lockstep. */
  private backoff(): BackoffPolicy {
    return {
      initialMs: this.settings.backoffInitialMs,
      maxMs: this.settings.backoffMaxMs,
      jitter: 'equal',
    };
  }

  private async onSendFailure(error: unknown, records: number, signal: AbortSignal): Promise<void> {
    const retriable = isTransient(error);
    this.sendFailures++;
    this.lastSendError = errorText(error);
    this.lastSendErrorAt = this.now();
    this.metrics.sendFailed(retriable);
    const delayMs = backoffDelay(this.sendFailures, this.backoff());
    if (this.sendFailures <= LOUD_FAILURES || this.sendFailures % 10 === 0) {
      this.logger.warn(
        {
          err: error,
          retriable,
          failures: this.sendFailures,
          records,
          depth: this.spool.depth(),
          retryInMs: delayMs,
        },
        'sending spooled samples to Kafka failed; they stay spooled and are retried',
      );
    }
    // A fatal error may have left the producer unusable (fenced, closed, sequence out of
    // step): the next attempt gets a new one.
    if (!retriable) await this.dropProducer();
    await sleep(delayMs, signal, { unref: true });
  }

  private async connectedProducer(): Promise<SpoolProducer> {
    this.producer ??= this.createProducer();
    if (!this.producerConnected) {
      await this.producer.connect();
      this.producerConnected = true;
    }
    return this.producer;
  }

  private async dropProducer(timeoutMs = 5_000): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.producerConnected = false;
    if (producer === undefined) return;
    try {
      await withTimeout(producer.disconnect({ timeoutMs }), timeoutMs + 1_000);
    } catch (error) {
      this.logger.warn({ err: error }, 'producer disconnect failed');
    }
  }

  private waitForWork(signal: AbortSignal): Promise<void> {
    if (this.spool.depth() > 0 || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wakeForwarder = undefined;
        resolve();
      };
      // Unref'd like the backoff: an idle forwarder alone does not keep a process alive.
      const timer = setTimeout(done, IDLE_POLL_MS).unref();
      signal.addEventListener('abort', done);
      this.wakeForwarder = done;
    });
  }

  // ---- shutdown ---------------------------------------------------------------------------

  private async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'closing';
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.writePending();
    const unwritable = this.pending.length;
    if (unwritable > 0) {
      this.metrics.recordsDropped('memory_full', unwritable);
      this.logger.error(
        { lost: unwritable, error: this.spoolWriteError },
        `closing with ${unwritable} samples that could not be written to the spool`,
      );
      this.pending = [];
    }

    const drained = await this.flush(left());
    this.stop.abort();
    this.wakeForwarder?.();
    const stopped = await withTimeout(
      this.forwarding.then(() => true),
      Math.max(left(), 100),
    ).catch(() => false);
    if (!stopped) {
      this.detached = true;
      this.logger.warn(
        'a Kafka send was still in flight at the deadline; its samples stay spooled',
      );
    }
    await this.spool.close();
    await this.dropProducer(Math.max(left(), 1_000));
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
      this.pending.length === 0 &&
      this.unwritten === 0 &&
      this.inflight.length === 0 &&
      this.spool.depth() === 0
    );
  }
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (options.unref) timer.unref();
    signal?.addEventListener('abort', done);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}
