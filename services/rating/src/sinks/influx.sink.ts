import {
  backoffDelay,
  type Counter,
  type Gauge,
  type Histogram,
  type Logger,
  type MetricsRegistry,
  createLogger,
} from '@metering/observability';
import { type InfluxPoint } from './influx-points';
import { InfluxWriteError, type LineWriter } from './influx.writer';

export interface InfluxSinkOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Bound of the in-memory buffer; beyond it the oldest points are dropped (and counted). */
  readonly maxBufferedPoints: number;
  readonly retryInitialDelayMs?: number;
  readonly retryMaxDelayMs: number;
}

/**
 * Writes points to InfluxDB in the background, after the ledger has committed. Never blocks or
 * fails its caller: `enqueue` only fills a bounded buffer. Points with the same series and
 * timestamp replace each other in the buffer (a bucket's latest totals), which also keeps the
 * volume down while rating catches up. A failed batch is retried with exponential backoff while
 * new points keep arriving; when the buffer is full the oldest points are dropped. Dropped points
 * are not lost data: the ledger holds the truth and the backfill command rewrites them.
 */
export class InfluxSink {
  /** Points keyed by series and time (the latest wins), and points written once. */
  private buffer = new Map<string, string>();
  private once: string[] = [];
  private retrying: string[] | null = null;
  private attempt = 0;
  private nextAttemptAt = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private failingSince: number | null = null;
  private lastFailureLogAt = -Infinity;
  private droppedSinceLog = 0;
  private readonly logger: Logger;
  private readonly failures: Counter;
  private readonly written: Counter;
  private readonly dropped: Counter;
  private readonly buffered: Gauge;
  private readonly latency: Histogram;

  constructor(
    private readonly writer: LineWriter,
    private readonly options: InfluxSinkOptions,
    metrics: MetricsRegistry,
    rootLogger: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.logger = createLogger('InfluxSink', { parent: rootLogger });
    this.failures = metrics.counter({
      name: 'influx_write_failures_total',
      help: 'InfluxDB write requests that failed (each retry counts)',
    });
    this.written = metrics.counter({
      name: 'influx_points_written_total',
      help: 'Points acknowledged by InfluxDB',
    });
    this.dropped = metrics.counter({
      name: 'influx_points_dropped_total',
      help: 'Points dropped: buffer full while InfluxDB was down, or rejected as invalid',
    });
    this.buffered = metrics.gauge({
      name: 'influx_buffered_points',
      help: 'Points waiting to be written to InfluxDB',
    });
    this.latency = metrics.histogram({
      name: 'influx_write_duration_seconds',
      help: 'Duration of InfluxDB write requests, successful or not',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  start(): void {
    this.started = true;
    this.armFlushTimer();
  }

  /**
   * The flush timer runs only while points wait: a rating with nothing to write sleeps (issue
   * 18). Armed by enqueue(), it stops at the first tick that finds nothing pending.
   */
  private armFlushTimer(): void {
    if (!this.started || this.stopped || this.timer !== undefined || this.pending === 0) return;
    this.timer = setInterval(() => {
      this.kick();
      if (this.pending === 0 && this.flushing === null) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Queues points; returns at once. */
  enqueue(points: Iterable<InfluxPoint>): void {
    if (this.stopped) return;
    for (const p of points) {
      if (p.key === null) this.once.push(p.line);
      else this.buffer.set(p.key, p.line);
    }
    let overflow = this.buffer.size + this.once.length - this.options.maxBufferedPoints;
    if (overflow > 0) {
      // Raw gauges go first: the rest is what the backfill restores anyway, and it is few.
      const fromOnce = Math.min(overflow, this.once.length);
      this.once.splice(0, fromOnce);
      let n = fromOnce;
      overflow -= fromOnce;
      for (const key of this.buffer.keys()) {
        if (overflow <= 0) break;
        this.buffer.delete(key);
        overflow -= 1;
        n += 1;
      }
      this.dropped.inc(n);
      this.droppedSinceLog += n;
    }
    this.buffered.set(this.pending);
    if (this.buffer.size + this.once.length >= this.options.batchSize) this.kick();
    this.armFlushTimer();
  }

  get pending(): number {
    return this.buffer.size + this.once.length + (this.retrying?.length ?? 0);
  }

  /** Resolves when everything buffered now has been written or given up (for tests and stop). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock() + timeoutMs;
    while (this.pending > 0 && this.clock() < deadline) {
      this.kick();
      if (this.flushing !== null) await this.flushing;
      if (this.pending > 0) await new Promise((r) => setTimeout(r, 50));
    }
    return this.pending === 0;
  }

  /** Stops the timer and writes what is buffered, for at most `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.started = false;
    const drained = await this.drain(timeoutMs);
    this.stopped = true;
    if (!drained) {
      this.logger.warn(
        { points: this.pending },
        'stopping with points not written to InfluxDB (run the backfill to restore them)',
      );
    }
  }

  private kick(): void {
    if (this.flushing !== null) return;
    if (this.pending === 0 || this.clock() < this.nextAttemptAt) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
    });
  }

  private async flush(): Promise<void> {
    while (this.pending > 0 && this.clock() >= this.nextAttemptAt) {
      const batch = this.retrying ?? this.take(this.options.batchSize);
      this.retrying = null;
      const end = this.latency.startTimer();
      try {
        await this.writer.write(batch);
        end();
        this.written.inc(batch.length);
        this.attempt = 0;
        if (this.failingSince !== null) {
          this.logger.info(
            { downForMs: this.clock() - this.failingSince },
            'InfluxDB writes succeed again',
          );
          this.failingSince = null;
        }
      } catch (error) {
        end();
        this.failures.inc();
        const retriable = !(error instanceof InfluxWriteError) || error.retriable;
        if (retriable) {
          this.retrying = batch;
          this.attempt += 1;
          // One writer per process: no jitter needed.
          const delay = backoffDelay(this.attempt, {
            initialMs: this.options.retryInitialDelayMs ?? 250,
            maxMs: this.options.retryMaxDelayMs,
            jitter: 'none',
          });
          this.nextAttemptAt = this.clock() + delay;
        } else {
          this.dropped.inc(batch.length);
          this.droppedSinceLog += batch.length;
        }
        this.logFailure(error, retriable, batch.length);
      } finally {
        this.buffered.set(this.pending);
      }
    }
  }

  private take(n: number): string[] {
    const out: string[] = [];
    for (const [key, line] of this.buffer) {
      if (out.length >= n) break;
      out.push(line);
      this.buffer.delete(key);
    }
    if (out.length < n && this.once.length > 0) {
      const more = this.once.splice(0, n - out.length);
      for (const line of more) out.push(line);
    }
    return out;
  }

  /** One line when writes start failing, then at most one a minute while they keep failing. */
  private logFailure(error: unknown, retriable: boolean, points: number): void {
    const now = this.clock();
    this.failingSince ??= now;
    if (!retriable) {
      this.logger.error({ err: error, points }, 'InfluxDB rejected points; dropped');
      return;
    }
    if (now - this.lastFailureLogAt < 60_000) return;
    this.lastFailureLogAt = now;
    this.logger.warn(
      {
        err: error,
        attempt: this.attempt,
        buffered: this.pending,
        droppedSinceLastLog: this.droppedSinceLog,
      },
      'InfluxDB write failed; retrying (the ledger is unaffected)',
    );
    this.droppedSinceLog = 0;
  }
}
