/** The wall clock, epoch milliseconds (Date.now): it may step either way at any moment. */
export type WallClock = () => number;

/** A monotonic clock in nanoseconds (process.hrtime.bigint): true elapsed time, never steps. */
export type MonotonicClock = () => bigint;

export type ClockStepDirection = 'forward' | 'backward';

/** The wall clock moved against the monotonic clock by more than the step threshold. */
export interface ClockStep {
  readonly direction: ClockStepDirection;
  /** How far the wall clock moved beyond the elapsed time, ms (negative: backward). */
  readonly stepMs: number;
  /** Collector time minus wall time right after the step was handled, ms. */
  readonly offsetMs: number;
}

export interface CollectorClockOptions {
  readonly wall?: WallClock;
  readonly monotonic?: MonotonicClock;
  /** A disagreement of wall and monotonic time beyond this between two readings is a step. */
  readonly stepThresholdMs?: number;
  /**
   * How fast the collector time converges on the wall clock when it is ahead (or behind by less
   * than a step): the share of elapsed time by which it runs slower (or faster).
   */
  readonly slewRate?: number;
  /** Called once per step detected (metrics, logs). */
  readonly onStep?: (step: ClockStep) => void;
}

export const COLLECTOR_CLOCK_DEFAULTS = {
  stepThresholdMs: 1_000,
  /**
   * 5 %: an interval runs at least 95 % of its true length, so CPU per interval looks at most
   * 1/0.95 = 1.053 × its true rate — well inside rating's plausibility slack (× 1.5), which must
   * also cover QEMU's threads beyond the vCPUs. 1 s is absorbed in 20 s, 5 minutes in 100.
   */
  slewRate: 0.05,
} as const;

const systemWall: WallClock = () => Date.now();
const systemMonotonic: MonotonicClock = () => process.hrtime.bigint();

/**
 * The time a collector stamps its samples with (ADR 0009): epoch milliseconds with a fraction,
 * driven by the monotonic clock and anchored to the wall clock when the process starts.
 *
 * Invariants, whatever the wall clock does:
 * - it never goes back (each reading is ≥ the one before), so no instance's samples can ever
 *   arrive "out of order" at rating because of the host's clock;
 * - between two readings it advances by the monotonic time elapsed, × (1 ± slewRate) while it
 *   converges on the wall clock, so CPU per interval stays plausible and memory integrals true;
 * - a wall clock that stepped **forward** (a correction of a clock that was behind, a resumed
 *   host or VM) beyond the threshold is followed at once: one interval is longer by the step
 *   (rating: a gap if it exceeds MAX_GAP_MS, never invented usage);
 * - a wall clock that stepped **backward** is not followed: the collector time runs 5 % slower
 *   until the wall clock catches up (never backwards, never a compressed interval beyond 5 %).
 *   While it is ahead, `fromWall` maps wall times from elsewhere (Docker's exit times, process
 *   start times) onto the same time line.
 * A new process anchors afresh on the wall clock (what rating then sees: ADR 0009).
 */
export class CollectorClock {
  private readonly wall: WallClock;
  private readonly monotonic: MonotonicClock;
  private readonly stepThresholdMs: number;
  readonly slewRate: number;
  private readonly onStep: (step: ClockStep) => void;
  private lastMono: bigint;
  private lastWall: number;
  private last: number;
  private steps = { forward: 0, backward: 0 };

  constructor(options: CollectorClockOptions = {}) {
    this.wall = options.wall ?? systemWall;
    this.monotonic = options.monotonic ?? systemMonotonic;
    this.stepThresholdMs = options.stepThresholdMs ?? COLLECTOR_CLOCK_DEFAULTS.stepThresholdMs;
    this.slewRate = options.slewRate ?? COLLECTOR_CLOCK_DEFAULTS.slewRate;
    this.onStep = options.onStep ?? (() => undefined);
    if (!(this.stepThresholdMs > 0) || !Number.isFinite(this.stepThresholdMs)) {
      throw new RangeError(
        `stepThresholdMs must be a positive number, not ${this.stepThresholdMs}`,
      );
    }
    if (!(this.slewRate > 0 && this.slewRate < 1)) {
      throw new RangeError(`slewRate must be between 0 and 1 (exclusive), not ${this.slewRate}`);
    }
    this.lastMono = this.monotonic();
    this.lastWall = this.wall();
    this.last = this.lastWall;
  }

  /** Collector time now, epoch ms (fractional). Never less than any earlier reading. */
  now(): number {
    const mono = this.monotonic();
    const wall = this.wall();
    // A monotonic clock that went back would be a bug of the platform: treated as no time.
    const elapsed = mono > this.lastMono ? Number(mono - this.lastMono) / 1e6 : 0;
    const free = this.last + elapsed;
    const offset = free - wall;
    const disagreement = wall - this.lastWall - elapsed;
    let next: number;
    if (offset < -this.stepThresholdMs) {
      // Behind the wall clock by more than a step: follow it at once (forward only).
      next = wall;
    } else {
      // Converge, at most slewRate of the elapsed time, never past the wall clock.
      const most = this.slewRate * elapsed;
      next = free - Math.min(most, Math.max(-most, offset));
    }
    if (next < this.last) next = this.last;
    this.lastMono = mono > this.lastMono ? mono : this.lastMono;
    this.lastWall = wall;
    this.last = next;
    if (Math.abs(disagreement) > this.stepThresholdMs) {
      const direction: ClockStepDirection = disagreement > 0 ? 'forward' : 'backward';
      this.steps[direction] += 1;
      this.onStep({ direction, stepMs: disagreement, offsetMs: next - wall });
    }
    return next;
  }

  /**
   * A wall-clock time from elsewhere (an engine's event time, a process start derived from the
   * boot time) on the collector's time line: shifted by the current offset. Equal to `wallMs`
   * while the clocks agree.
   */
  fromWall(wallMs: number): number {
    // In whole milliseconds: the sub-millisecond drift between the two clocks must not move a
    // time that identifies something (a VM's start, read again by a restarted collector).
    const offset = Math.round(this.now() - this.lastWall);
    return offset === 0 ? wallMs : wallMs + offset;
  }

  /** Collector time minus wall time at the last reading, ms (> 0 while converging back). */
  get offsetMs(): number {
    return this.last - this.lastWall;
  }

  /** Steps detected since the process started, by direction. */
  get stepCounts(): Readonly<Record<ClockStepDirection, number>> {
    return { ...this.steps };
  }
}
