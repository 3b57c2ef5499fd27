/** The time source of services (an adapter: tests may provide another). */
export abstract class Clock {
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/**
 * A test clock (as Stripe's test clocks): the service's now starts at `startMs` when the clock is
 * made and then runs at real speed. It lets a staging or test deployment close a month that has
 * not ended by the wall clock, with the real ledger and the real close path. Only config.ts decides
 * when it is allowed (never with NODE_ENV=production).
 */
export class ShiftedClock extends Clock {
  /** startMs minus the real time at creation: what now() adds to the real time. */
  readonly offsetMs: number;

  constructor(
    startMs: number,
    private readonly realNow: () => number = Date.now,
  ) {
    super();
    this.offsetMs = startMs - realNow();
  }

  now(): number {
    return this.realNow() + this.offsetMs;
  }
}

/** The clock a configuration asks for: the system clock, or a test clock started now. */
export function clockFor(config: { readonly testClockStartMs: number | null }): Clock {
  return config.testClockStartMs === null
    ? new SystemClock()
    : new ShiftedClock(config.testClockStartMs);
}
