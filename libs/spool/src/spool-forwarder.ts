// The spooled publisher's disk → Kafka half: one loop sends spool records in spool order, in
// batches, acks the spool only after Kafka acknowledged a batch, and retries a failed batch,
// identical, after a backoff, forever; the producer is made, connected and replaced here.
import { performance } from 'node:perf_hooks';
import { backoffDelay, type Logger } from '@metering/observability';
import { type DiskSpool } from './disk-spool';
import { errorText, retryBackoff, sleep, withTimeout } from './publisher-support';
import { isTransient } from './send-error.classifier';
import { type SpoolSettings } from './spool.config';
import { type SpoolMetrics } from './spool.metrics';
import { type SpoolProducer, type SpoolProducerFactory } from './spool-producer';
import { type SpoolRecord } from './spool-record';

/** Wait for new spool records at most this long before looking again anyway. */
const IDLE_POLL_MS = 1_000;
/** Log every failure of a streak up to this many, then every 10th. */
const LOUD_FAILURES = 3;

export interface SpoolForwarderOptions {
  topic: string;
  createProducer: SpoolProducerFactory;
  /** Headers a record is sent with, made when it is sent (the per-host MAC, ADR 0010). */
  sign: ((key: Buffer, value: Buffer) => Record<string, string>) | undefined;
  now: () => number;
}

/** Where the forwarder stands, for the publisher's health. */
export interface ForwarderState {
  /** When the oldest record of the batch being sent was appended; undefined: none is. */
  oldestInflightAt: number | undefined;
  inflight: number;
  consecutiveSendFailures: number;
  lastSendError: string | null;
  lastSendErrorAt: number | null;
  lastSentAt: number | null;
  /** The loop died (a bug): nothing is sent any more. */
  forwarderError: string | null;
}

export class SpoolForwarder {
  private readonly stopping = new AbortController();
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

  constructor(
    private readonly spool: DiskSpool,
    private readonly settings: SpoolSettings,
    private readonly metrics: SpoolMetrics,
    private readonly logger: Logger,
    private readonly options: SpoolForwarderOptions,
  ) {}

  /** Starts the loop; it connects to Kafka in the background. */
  start(): void {
    this.forwarding = this.forward().catch((error: unknown) => {
      this.forwarderError = errorText(error);
      this.logger.fatal({ err: error }, 'the Kafka forwarder stopped; samples only accumulate');
    });
  }

  /** New records are in the spool: an idle loop looks at once. */
  wake(): void {
    this.wakeForwarder?.();
  }

  state(): ForwarderState {
    return {
      oldestInflightAt: this.inflight[0]?.appendedAt,
      inflight: this.inflight.length,
      consecutiveSendFailures: this.sendFailures,
      lastSendError: this.lastSendError,
      lastSendErrorAt: this.lastSendErrorAt,
      lastSentAt: this.lastSentAt,
      forwarderError: this.forwarderError,
    };
  }

  /**
   * Stops the loop, waiting up to `timeoutMs` for a send in flight; past that, its outcome is
   * ignored and its records stay spooled.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping.abort();
    this.wakeForwarder?.();
    const stopped = await withTimeout(
      this.forwarding.then(() => true),
      timeoutMs,
    ).catch(() => false);
    if (!stopped) {
      this.detached = true;
      this.logger.warn(
        'a Kafka send was still in flight at the deadline; its samples stay spooled',
      );
    }
  }

  async dropProducer(timeoutMs = 5_000): Promise<void> {
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

  private async forward(): Promise<void> {
    const signal = this.stopping.signal;
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
        const sign = this.options.sign;
        await producer.send(
          this.options.topic,
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
        this.lastSentAt = this.options.now();
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

  private async onSendFailure(error: unknown, records: number, signal: AbortSignal): Promise<void> {
    const retriable = isTransient(error);
    this.sendFailures++;
    this.lastSendError = errorText(error);
    this.lastSendErrorAt = this.options.now();
    this.metrics.sendFailed(retriable);
    const delayMs = backoffDelay(this.sendFailures, retryBackoff(this.settings));
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
    this.producer ??= this.options.createProducer();
    if (!this.producerConnected) {
      await this.producer.connect();
      this.producerConnected = true;
    }
    return this.producer;
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
}
