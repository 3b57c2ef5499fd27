import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@metering/observability/resilience';
import { type ContainerEvent, containerEventOf } from './container-event';

/** Opens Docker's event stream from `since` (seconds; undefined: from now). */
export type EventStreamOpener = (
  since: number | undefined,
  signal: AbortSignal,
) => Promise<NodeJS.ReadableStream>;

export interface EventsWatcherHandlers {
  onEvent(event: ContainerEvent): void;
  /** The stream came back after a drop: events may have been missed, look again. */
  onReconnect(): void;
  onStreamError(error: unknown, attempt: number): void;
}

export interface EventsWatcherOptions {
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * Follows the engine's container events for as long as it runs. When the stream ends or
 * fails (engine restart, socket hiccup) it reconnects with exponential backoff, resuming at
 * the last event's timestamp so the engine replays what happened meanwhile; handlers must
 * therefore be idempotent. A reconnect is also reported, so the owner can resynchronise.
 */
export class DockerEventsWatcher {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private connectedNow = false;
  private since: number | undefined;

  constructor(
    private readonly open: EventStreamOpener,
    private readonly handlers: EventsWatcherHandlers,
    private readonly options: EventsWatcherOptions,
  ) {}

  get connected(): boolean {
    return this.connectedNow;
  }

  /** Starts following from `since` (seconds), so nothing between a listing and now is missed. */
  start(since: number | undefined): void {
    if (this.loop !== null) return;
    this.since = since;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    /** Failures since the stream was last open: the backoff starts again after a success. */
    let streak = 0;
    while (!this.abort.signal.aborted) {
      try {
        const stream = await this.open(this.since, this.abort.signal);
        this.connectedNow = true;
        if (attempt > 0) this.handlers.onReconnect();
        streak = 0;
        await this.consume(stream);
      } catch (error) {
        if (!this.abort.signal.aborted) this.handlers.onStreamError(error, attempt);
      }
      this.connectedNow = false;
      if (this.abort.signal.aborted) break;
      attempt += 1;
      streak += 1;
      const delayMs = backoffDelay(streak, {
        initialMs: this.options.minBackoffMs,
        maxMs: this.options.maxBackoffMs,
        jitter: 'none',
      });
      try {
        await sleep(delayMs, undefined, { signal: this.abort.signal });
      } catch {
        break; // stopped while waiting
      }
    }
  }

  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let buffer = '';
      const onAbort = (): void => {
        (stream as { destroy?: () => void }).destroy?.();
        resolve();
      };
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      const done = (error?: unknown): void => {
        this.abort.signal.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error('event stream failed'));
      };
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          this.dispatch(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
        }
      });
      stream.on('end', () => {
        this.dispatch(buffer);
        done();
      });
      stream.on('close', () => done());
      stream.on('error', (error: unknown) => done(error));
    });
  }

  private dispatch(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // not an event (a proxy's noise); the periodic resync covers anything lost
    }
    const event = containerEventOf(parsed);
    if (event === null) return;
    this.since = event.since;
    this.handlers.onEvent(event);
  }
}
