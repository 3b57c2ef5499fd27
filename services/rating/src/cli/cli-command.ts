import { SingleBar } from 'cli-progress';

/** Exit codes of every `rating` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Where a command writes: results on `out` (stdout), messages and progress on `err` (stderr). */
export interface CliIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/**
 * One `rating <name> ...` command, in its own `*.command.ts`. It parses its own arguments (those
 * after its name), reads the configuration itself, and answers an exit code: bad arguments are a
 * UsageError (exit 2, with the command's usage), failures exit 1.
 */
export interface CliCommand {
  readonly name: string;
  /** One line for `rating --help`. */
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}

/** Bad arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/**
 * NUL cannot come through exec(2), but a wrapper (a script, a test) may hand arguments over any
 * other way; nothing past here has to wonder about it.
 */
export function rejectNul(args: readonly string[]): void {
  const i = args.findIndex((a) => a.includes('\u0000'));
  if (i >= 0) throw new UsageError(`argument ${i + 1} contains a NUL character`);
}

/** What a long step reports as it goes. */
export interface Progress {
  start(total: number, label: string): void;
  advance(by: number): void;
  stop(): void;
}

/** cli-progress on stderr; without a terminal, a status line every 2 s instead of a bar. */
export function progressBar(unit: string): Progress {
  const bar = new SingleBar({
    format: `{label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    hideCursor: true,
  });
  let running = false;
  return {
    start: (total, label) => {
      bar.start(total, 0, { label });
      running = true;
    },
    advance: (by) => bar.increment(by),
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** Text as it may be echoed to a terminal (arguments, DLQ contents): control characters escaped, length bounded. */
export function printable(value: string, max = 80): string {
  const escaped = value.replace(
    // eslint-disable-next-line no-control-regex -- escaping them is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}
