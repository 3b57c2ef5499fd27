import { Injectable } from '@nestjs/common';

/**
 * How a part asks the whole application to end after an error it cannot recover from (ADR 0015:
 * ending is always Nest's `app.close()`, never a signal the process sends itself). The entry that
 * opened the module binds what ending means: main.ts sets a non-zero exit code and closes the
 * app, so the same stop order runs as on SIGTERM; a test or benchmark that binds nothing keeps
 * the application open (the fatal line is logged and liveness reports the stopped part).
 */
@Injectable()
export class ApplicationEnd {
  private ending: ((error: unknown) => Promise<void>) | null = null;
  private ended: Promise<void> | null = null;

  /** What `fatal` does; main.ts: `app.get(ApplicationEnd).bind(() => app.close())`. */
  bind(end: (error: unknown) => Promise<void>): void {
    this.ending = end;
  }

  /** Ends the application once (a second fatal error waits for the first ending). */
  fatal(error: unknown): Promise<void> {
    if (this.ending === null) return Promise.resolve();
    this.ended ??= this.ending(error);
    return this.ended;
  }
}
