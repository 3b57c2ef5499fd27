import { Presets, SingleBar } from 'cli-progress';

/** Progress of a long command, on stderr (stdout is the command's result). */
export interface ProgressReporter {
  update(done: number, total: number): void;
  stop(): void;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Plain lines: at most one per `everyPercent` step or per `everyMs`, whichever comes first. */
export const PLAIN_EVERY_PERCENT = 10;
export const PLAIN_EVERY_MS = 5_000;

/**
 * A bar where a person watches (stderr is a terminal), plain lines where a log collects them (a
 * CronJob's pod log, a pipe): `close 2026-11: 40% (16/40 tenants, 3.2 s)`, bounded in rate so a
 * long close writes tens of lines, not thousands.
 */
export function progressReporter(
  stream: ProgressStream,
  label: string,
  unit: string,
  now: () => number = Date.now,
): ProgressReporter {
  return stream.isTTY === true
    ? new BarProgress(stream as NodeJS.WritableStream, unit)
    : new PlainProgress(stream, label, unit, now);
}

class BarProgress implements ProgressReporter {
  private readonly bar: SingleBar;
  private started = false;

  constructor(stream: NodeJS.WritableStream, unit: string) {
    this.bar = new SingleBar(
      {
        format: ` {bar} {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
        stream,
      },
      Presets.shades_classic,
    );
  }

  update(done: number, total: number): void {
    if (!this.started) {
      this.bar.start(total, done);
      this.started = true;
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(done);
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

export class PlainProgress implements ProgressReporter {
  private readonly startedAt: number;
  private lastAt: number;
  private lastStep = -1;
  private last: { done: number; total: number } | null = null;
  private lastWritten: { done: number; total: number } | null = null;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly unit: string,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    this.lastAt = this.startedAt;
  }

  update(done: number, total: number): void {
    this.last = { done, total };
    const step = Math.floor(percent(done, total) / PLAIN_EVERY_PERCENT);
    const at = this.now();
    if (step > this.lastStep || at - this.lastAt >= PLAIN_EVERY_MS) {
      this.lastStep = Math.max(step, this.lastStep);
      this.lastAt = at;
      this.write(done, total, at);
    }
  }

  /** The final figures, unless the last line already showed them. */
  stop(): void {
    const last = this.last;
    if (last === null) return;
    if (this.lastWritten?.done !== last.done || this.lastWritten.total !== last.total) {
      this.write(last.done, last.total, this.now());
    }
  }

  private write(done: number, total: number, at: number): void {
    this.lastWritten = { done, total };
    const seconds = ((at - this.startedAt) / 1000).toFixed(1);
    this.stream.write(
      `${this.label}: ${Math.floor(percent(done, total))}% (${done}/${total} ${this.unit}, ${seconds} s)\n`,
    );
  }
}

function percent(done: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, (done / total) * 100);
}
