import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogger, MetricsRegistry } from '@metering/observability';
import { type ClockStep, CollectorClock, COLLECTOR_CLOCK_DEFAULTS } from './collector-clock';
import { observedCollectorClock } from './collector-clock.factory';

const EPOCH = Date.parse('2026-12-03T10:00:00.000Z');
const RATE = COLLECTOR_CLOCK_DEFAULTS.slewRate;

/** A host: a wall clock an operator or NTP can step, and a monotonic clock that only runs. */
class FakeHost {
  wallMs = EPOCH;
  monoNs = 5_000_000_000n;
  readonly steps: ClockStep[] = [];

  /** Time passes: both clocks move (the wall clock by the same amount). */
  run(ms: number): void {
    this.wallMs += ms;
    this.monoNs += BigInt(Math.round(ms * 1e6));
  }

  /** The wall clock steps (settimeofday); no time passes. */
  step(ms: number): void {
    this.wallMs += ms;
  }

  clock(options: { stepThresholdMs?: number } = {}): CollectorClock {
    return new CollectorClock({
      wall: () => this.wallMs,
      monotonic: () => this.monoNs,
      onStep: (s) => this.steps.push(s),
      ...options,
    });
  }
}

/** Readings every `everyMs` for `count` times; returns them. */
function sample(host: FakeHost, clock: CollectorClock, everyMs: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    host.run(everyMs);
    out.push(clock.now());
  }
  return out;
}

function intervals(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

test('with a well-behaved wall clock it is the wall clock, and intervals are the elapsed time', () => {
  const host = new FakeHost();
  const clock = host.clock();
  assert.equal(clock.now(), EPOCH);
  const times = sample(host, clock, 10_000, 100);
  for (const d of intervals(times)) assert.ok(Math.abs(d - 10_000) < 1e-3, String(d));
  assert.ok(Math.abs(times.at(-1)! - host.wallMs) < 1e-3);
  assert.equal(host.steps.length, 0);
});

test('a backward step of a minute: never backwards, intervals ≥ 95 % of elapsed, converges in elapsed = step / 5 %', () => {
  const host = new FakeHost();
  const clock = host.clock();
  const before = sample(host, clock, 10_000, 3);
  host.step(-60_000);
  const after = sample(host, clock, 10_000, 200);
  const all = [...before, ...after];
  for (const d of intervals(all)) {
    assert.ok(d >= 10_000 * (1 - RATE) - 1e-3, `interval ${d} compressed beyond the slew rate`);
    assert.ok(d <= 10_000 + 1e-3, `interval ${d} longer than the elapsed time`);
  }
  assert.deepEqual(
    host.steps.map((s) => s.direction),
    ['backward'],
  );
  assert.ok(Math.abs(host.steps[0]!.stepMs + 60_000) < 1e-3);
  assert.ok(Math.abs(host.steps[0]!.offsetMs - (60_000 - RATE * 10_000)) < 1e-3);
  // 60 s at 5 % of elapsed: caught up after 1,200 s (120 intervals); on the wall clock since.
  const lag = after.map((t, i) => t - (EPOCH + 30_000 - 60_000 + (i + 1) * 10_000));
  assert.ok(lag[118]! > 0, 'not yet converged after 1,190 s');
  assert.ok(Math.abs(lag[119]!) < 1e-3, `converged after 1,200 s: ${lag[119]}`);
  for (const d of intervals(after.slice(120))) assert.ok(Math.abs(d - 10_000) < 1e-3);
  assert.ok(Math.abs(clock.offsetMs) < 1e-3);
});

test('a forward step of an hour is followed at once: one interval longer by the step', () => {
  const host = new FakeHost();
  const clock = host.clock();
  const before = sample(host, clock, 10_000, 3);
  host.step(3_600_000);
  const after = sample(host, clock, 10_000, 3);
  const gaps = intervals([...before, ...after]);
  assert.ok(Math.abs(gaps[2]! - 3_610_000) < 1e-3, String(gaps[2]));
  for (const d of [...gaps.slice(0, 2), ...gaps.slice(3)]) assert.ok(Math.abs(d - 10_000) < 1e-3);
  assert.equal(after.at(-1), host.wallMs);
  assert.deepEqual(
    host.steps.map((s) => [s.direction, Math.round(s.stepMs), s.offsetMs]),
    [['forward', 3_600_000, 0]],
  );
});

test('a forward jump smaller than the threshold is slewed, not counted as a step', () => {
  const host = new FakeHost();
  const clock = host.clock();
  clock.now();
  host.step(300);
  const times = sample(host, clock, 1_000, 20);
  for (const d of intervals(times)) assert.ok(d >= 1_000 - 1e-3 && d <= 1_000 * (1 + RATE) + 1e-3);
  assert.equal(host.steps.length, 0);
  // 300 ms at 5 %: 6 s.
  assert.ok(times[4]! - host.wallMs + 15_000 < -1);
  assert.ok(Math.abs(times[5]! - host.wallMs + 14_000) < 1e-3);
  assert.ok(Math.abs(times.at(-1)! - host.wallMs) < 1e-3);
});

test('millisecond jitter of the wall clock (Date.now granularity) neither steps nor drifts', () => {
  const host = new FakeHost();
  const clock = host.clock();
  let previous = clock.now();
  const rng = fc.sample(fc.double({ min: -0.999, max: 0.999, noNaN: true }), {
    numRuns: 5_000,
    seed: 7,
  });
  let jitter = 0;
  for (const j of rng) {
    host.run(1_000);
    host.step(j - jitter); // the wall clock reads `j` ms off, then off by another amount
    jitter = j;
    const now = clock.now();
    assert.ok(
      now - previous >= 1_000 * (1 - RATE) - 1e-3 && now - previous <= 1_000 * (1 + RATE) + 1e-3,
    );
    assert.ok(Math.abs(now - host.wallMs) < 1, `offset ${now - host.wallMs}`);
    previous = now;
  }
  assert.equal(host.steps.length, 0);
});

test('30 days of readings every 10 s keep the offset at zero (no floating-point drift)', () => {
  const host = new FakeHost();
  const clock = host.clock();
  for (let i = 0; i < 30 * 8_640; i++) {
    host.run(10_000 + (i % 7) * 0.1234567);
    clock.now();
  }
  assert.ok(Math.abs(clock.offsetMs) < 0.01, String(clock.offsetMs));
});

test('fromWall places a wall time from elsewhere on the collector time line', () => {
  const host = new FakeHost();
  const clock = host.clock();
  clock.now();
  host.step(-120_000);
  host.run(1_000);
  const exitWall = host.wallMs - 500;
  const mapped = clock.fromWall(exitWall);
  const now = clock.now();
  assert.ok(Math.abs(clock.offsetMs - (120_000 - RATE * 1_000)) < 1e-3);
  assert.ok(Math.abs(mapped - (exitWall + clock.offsetMs)) < 1e-3);
  assert.ok(mapped < now, 'an exit before now is before now on the collector line too');
  // With the clocks in agreement, it is the identity.
  const agreed = new FakeHost().clock();
  assert.equal(agreed.fromWall(EPOCH - 42), EPOCH - 42);
});

test('fromWall ignores sub-millisecond drift: a time read again maps to the same millisecond', () => {
  const host = new FakeHost();
  const clock = host.clock();
  clock.now();
  host.step(-0.4); // jitter, not a step: the collector is 0.4 ms ahead for a while
  host.run(1);
  clock.now();
  assert.ok(clock.offsetMs > 0 && clock.offsetMs < 0.5, String(clock.offsetMs));
  assert.equal(clock.fromWall(EPOCH - 42), EPOCH - 42);
});

test('a monotonic clock that goes back (a platform bug) is no elapsed time, never a step back', () => {
  const host = new FakeHost();
  const clock = host.clock();
  const first = clock.now();
  host.monoNs -= 1_000_000_000n;
  const second = clock.now();
  assert.ok(second >= first);
  host.run(1_000);
  assert.ok(clock.now() >= second);
});

test('invalid settings are refused', () => {
  for (const slewRate of [0, 1, -0.1, 2, Number.NaN]) {
    assert.throws(() => new CollectorClock({ slewRate }), RangeError, `slewRate ${slewRate}`);
  }
  for (const stepThresholdMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new CollectorClock({ stepThresholdMs }),
      RangeError,
      String(stepThresholdMs),
    );
  }
  const real = new CollectorClock();
  const a = real.now();
  assert.ok(real.now() >= a);
  assert.ok(Math.abs(a - Date.now()) < 5_000);
});

/** Operations on a host: time passes (with readings), or the wall clock steps. */
const operation = fc.oneof(
  fc.record({ kind: fc.constant('run' as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
  fc.record({
    kind: fc.constant('step' as const),
    ms: fc.oneof(
      fc.integer({ min: -3_600_000, max: 3_600_000 }),
      fc.integer({ min: -2_000, max: 2_000 }),
      fc.double({ min: -1, max: 1, noNaN: true }),
    ),
  }),
);

test('property: whatever the wall clock does, never backwards, intervals within the slew of elapsed unless following a forward step, converging', () => {
  const threshold = COLLECTOR_CLOCK_DEFAULTS.stepThresholdMs;
  fc.assert(
    fc.property(fc.array(operation, { minLength: 1, maxLength: 300 }), (ops) => {
      const host = new FakeHost();
      const clock = host.clock();
      let last = clock.now();
      for (const op of ops) {
        if (op.kind === 'step') {
          host.step(op.ms);
          continue;
        }
        // Collector time minus the (possibly stepped) wall clock, before time passes.
        const offsetBefore = last - host.wallMs;
        host.run(op.ms);
        const now = clock.now();
        const d = now - last;
        const offset = now - host.wallMs;
        assert.ok(d >= 0, 'never backwards');
        assert.ok(d >= op.ms * (1 - RATE) - 1e-3, `compressed: ${d} for ${op.ms}`);
        if (offsetBefore < -threshold) {
          // Behind by more than a step: it follows the wall clock at once (forward only).
          assert.equal(now, host.wallMs);
          last = now;
          continue;
        }
        assert.ok(d <= op.ms * (1 + RATE) + 1e-3, `stretched: ${d} for ${op.ms}`);
        // Converging: never further from the wall clock, closer by the slew (or there).
        assert.ok(Math.abs(offset) <= Math.abs(offsetBefore) + 1e-3);
        const expected = Math.max(0, Math.abs(offsetBefore) - RATE * op.ms);
        assert.ok(Math.abs(Math.abs(offset) - expected) < 1e-3, `${offset} vs ${expected}`);
        assert.ok(offset >= -threshold - 1e-3, 'never behind by more than a step');
        last = now;
      }
    }),
    { numRuns: 300, seed: 13 },
  );
});

test('repeated steps are each counted, in their direction', () => {
  const host = new FakeHost();
  const clock = host.clock();
  clock.now();
  for (const step of [-30_000, 10_000, -300_000, 3_600_000, -1_500]) {
    host.step(step);
    host.run(10_000);
    clock.now();
  }
  assert.deepEqual(clock.stepCounts, { forward: 2, backward: 3 });
  assert.deepEqual(
    host.steps.map((s) => s.direction),
    ['backward', 'forward', 'backward', 'forward', 'backward'],
  );
});

test('observedCollectorClock counts steps in <service>_clock_steps_total and exposes the offset', async () => {
  const host = new FakeHost();
  const metrics = new MetricsRegistry({ serviceName: 'c', collectDefaultMetrics: false });
  const lines: string[] = [];
  const logger = createLogger('clock', {
    destination: { write: (line: string) => void lines.push(line) },
  });
  const clock = observedCollectorClock({
    metrics,
    logger,
    wall: () => host.wallMs,
    monotonic: () => host.monoNs,
  });
  const zero = await metrics.metrics();
  assert.match(zero, /c_clock_steps_total\{direction="forward",service="c"\} 0/);
  assert.match(zero, /c_clock_steps_total\{direction="backward",service="c"\} 0/);
  clock.now();
  host.step(-60_000);
  host.run(1_000);
  clock.now();
  const text = await metrics.metrics();
  assert.match(text, /c_clock_steps_total\{direction="backward",service="c"\} 1/);
  assert.match(text, /c_clock_offset_seconds\{service="c"\} 59\.9/);
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(entry['direction'], 'backward');
  assert.equal(entry['stepMs'], -60_000);
  assert.equal(entry['convergesInMs'], Math.round((60_000 - 50) / RATE));
});
