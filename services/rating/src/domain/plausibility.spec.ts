import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type MeteredSample } from './metered-sample';
import { rateBatch } from './rate-batch';
import { type PlausibilityRules, type RatingRules, rateSample } from './rate-sample';
import { sampleAt } from './test-samples';

const S = 1_000_000_000n; // ns per second
const plausibility: PlausibilityRules = {
  cpuSlackPermille: 1500n,
  cpuToleranceNs: 1n * S,
  maxCores: 1024,
  maxMemoryBytes: 1n << 46n,
};
const rules: RatingRules = { maxGapMs: 300_000, plausibility };

function outcomeOf(sample: MeteredSample, previous?: MeteredSample) {
  const state =
    previous === undefined ? undefined : rateSample(undefined, previous, { maxGapMs: 300_000 });
  return rateSample(state?.kind === 'rated' ? state.state : undefined, sample, rules);
}

describe('plausibility', () => {
  test('a counter of 2^64-1 ns one minute after start is refused, not billed', () => {
    const outcome = outcomeOf(sampleAt(60, 2n ** 64n - 1n, { cpuAllocationCores: '2' }));
    assert.equal(outcome.kind, 'rejected');
    if (outcome.kind !== 'rejected') return;
    assert.equal(outcome.implausible.code, 'IMPLAUSIBLE_CPU');
    assert.equal(outcome.implausible.path, 'cpu.usageNs');
    assert.match(outcome.implausible.message, /18446744073709551615 ns of CPU in 60000 ms/);
  });

  // 10 s after the previous sample; the bound is capacity × 10 s × 1.5 + 1 s.
  const cases: {
    name: string;
    over: Partial<MeteredSample>;
    before?: Partial<MeteredSample>;
    deltaNs: bigint;
    ok: boolean;
  }[] = [
    {
      name: 'half a core at its limit',
      over: { cpuAllocationCores: '0.5' },
      deltaNs: 5n * S,
      ok: true,
    },
    {
      name: 'half a core at the bound (7.5 s + 1 s)',
      over: { cpuAllocationCores: '0.5' },
      deltaNs: 8_500_000_000n,
      ok: true,
    },
    {
      name: 'half a core one ns past the bound',
      over: { cpuAllocationCores: '0.5' },
      deltaNs: 8_500_000_001n,
      ok: false,
    },
    {
      name: 'a millicore: 15 ms + 1 s',
      over: { cpuAllocationCores: '0.001' },
      deltaNs: 1_015_000_000n,
      ok: true,
    },
    {
      name: 'a millicore past it',
      over: { cpuAllocationCores: '0.001' },
      deltaNs: 1_015_000_001n,
      ok: false,
    },
    {
      name: 'unlimited on a 2-core host: 31 s',
      over: { cpuAllocationCores: null, hostCores: 2 },
      deltaNs: 31n * S,
      ok: true,
    },
    {
      name: 'unlimited on a 2-core host: past 31 s',
      over: { cpuAllocationCores: null, hostCores: 2 },
      deltaNs: 31n * S + 1n,
      ok: false,
    },
    {
      name: 'unlimited without the host: 1,024 cores',
      over: { cpuAllocationCores: null },
      deltaNs: 15_361n * S,
      ok: true,
    },
    {
      name: 'unlimited without the host: past 1,024 cores',
      over: { cpuAllocationCores: null },
      deltaNs: 15_361n * S + 1n,
      ok: false,
    },
    {
      name: 'allocation raised from 1 to 4 cores: the larger counts',
      before: { cpuAllocationCores: '1' },
      over: { cpuAllocationCores: '4' },
      deltaNs: 61n * S,
      ok: true,
    },
    {
      name: 'allocation lowered from 4 to 1 core: the larger counts',
      before: { cpuAllocationCores: '4' },
      over: { cpuAllocationCores: '1' },
      deltaNs: 61n * S,
      ok: true,
    },
    {
      name: 'limited before, unlimited now: the host bounds it',
      before: { cpuAllocationCores: '1' },
      over: { cpuAllocationCores: null, hostCores: 8 },
      deltaNs: 121n * S,
      ok: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const before = sampleAt(0, 100n * S, { ...c.over, ...c.before });
      const outcome = outcomeOf(sampleAt(10, 100n * S + c.deltaNs, c.over), before);
      assert.equal(outcome.kind, c.ok ? 'rated' : 'rejected', JSON.stringify(outcome, big));
    });
  }

  test('a counter reset is bounded by the time since the previous sample', () => {
    const before = sampleAt(0, 500n * S, { cpuAllocationCores: '1' });
    assert.equal(
      outcomeOf(sampleAt(10, 16n * S, { cpuAllocationCores: '1' }), before).kind,
      'rated',
    );
    assert.equal(
      outcomeOf(sampleAt(10, 17n * S, { cpuAllocationCores: '1' }), before).kind,
      'rejected',
    );
  });

  test('memory above the ceiling is refused', () => {
    const outcome = outcomeOf(sampleAt(10, 0n, { memoryUsageBytes: (1n << 46n) + 1n }));
    assert.equal(outcome.kind, 'rejected');
    if (outcome.kind === 'rejected') assert.equal(outcome.implausible.code, 'IMPLAUSIBLE_MEMORY');
    assert.equal(outcomeOf(sampleAt(10, 0n, { memoryUsageBytes: 1n << 46n })).kind, 'rated');
  });

  test('without plausibility rules every reading is taken at its word (as before)', () => {
    const outcome = rateSample(undefined, sampleAt(60, 2n ** 64n - 1n), { maxGapMs: 300_000 });
    assert.equal(outcome.kind, 'rated');
  });
});

describe('an implausible sample does not advance its instance', () => {
  test('the next plausible sample carries the CPU the refused one claimed', () => {
    const samples = [
      sampleAt(10, 5n * S, { cpuAllocationCores: '1' }),
      sampleAt(20, 10n ** 15n, { cpuAllocationCores: '1' }), // a glitch
      sampleAt(30, 20n * S, { cpuAllocationCores: '1' }),
    ];
    const rating = rateBatch(samples, new Map(), rules, () => 'UTC');
    assert.equal(rating.rejected.length, 1);
    assert.equal(rating.rejected[0]!.sample, samples[1]);
    assert.deepEqual(
      rating.intervals.map((i) => [i.fromMs - samples[0]!.startedAtMs, i.cpuUsageNs]),
      [
        [0, 5n * S],
        [10_000, 15n * S], // from the last accepted sample (10 s), not from the glitch
      ],
    );
  });

  test('property: glitches anywhere in a stream never change the CPU billed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          // A 1-core resource sampled every 10 s using 0..1 core; some readings replaced by nonsense.
          let counter = 0n;
          const truth: bigint[] = [];
          const samples: MeteredSample[] = [];
          steps.forEach(([permille, glitch], i) => {
            counter += (BigInt(permille) * 10n * S) / 1000n;
            truth.push(counter);
            const reading = glitch ? counter + 10n ** 18n : counter;
            samples.push(sampleAt((i + 1) * 10, reading, { cpuAllocationCores: '1' }));
          });
          const rating = rateBatch(samples, new Map(), rules, () => 'UTC');
          const billed = rating.intervals.reduce((sum, i) => sum + i.cpuUsageNs, 0n);
          const lastGood = [...steps.keys()].reverse().find((i) => !steps[i]![1]);
          assert.equal(billed, lastGood === undefined ? 0n : truth[lastGood]);
          assert.equal(rating.rejected.length, steps.filter(([, g]) => g).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: at and around the bound, over any capacity, interval and slack, the bound is exact', () => {
    // The bound worked out here in bigints: capacity (nano-cores) × ms × permille / 10^6 + tolerance.
    const nano = fc.bigInt({ min: 1n, max: 65_536n * S });
    const cores = (n: bigint) => `${n / S}.${String(n % S).padStart(9, '0')}`;
    fc.assert(
      fc.property(
        fc.option(nano, { nil: null }),
        fc.option(nano, { nil: null }),
        fc.option(fc.integer({ min: 1, max: 65_536 }), { nil: null }),
        fc.integer({ min: 1, max: 35 * 86_400 }),
        fc.bigInt({ min: 1000n, max: 5000n }),
        fc.bigInt({ min: 0n, max: 10n * S }),
        fc.oneof(
          fc.bigInt({ min: -3n, max: 3n }),
          fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        ),
        (nowNano, beforeNano, hostCores, seconds, permille, tolerance, delta) => {
          const exactRules: PlausibilityRules = {
            cpuSlackPermille: permille,
            cpuToleranceNs: tolerance,
            maxCores: 1024,
            maxMemoryBytes: 1n << 46n,
          };
          const allocated = nowNano !== null && beforeNano !== null;
          const capacity = allocated
            ? nowNano > beforeNano
              ? nowNano
              : beforeNano
            : BigInt(hostCores ?? 1024) * S;
          const limit = (capacity * BigInt(seconds) * 1000n * permille) / 1_000_000n + tolerance;
          const used = limit + delta < 0n ? 0n : limit + delta;
          const before = sampleAt(0, 100n * S, {
            cpuAllocationCores: beforeNano === null ? null : cores(beforeNano),
          });
          const state = rateSample(undefined, before, { maxGapMs: 300_000 });
          assert.equal(state.kind, 'rated');
          const sample = sampleAt(seconds, 100n * S + used, {
            cpuAllocationCores: nowNano === null ? null : cores(nowNano),
            hostCores,
          });
          const outcome = rateSample(state.kind === 'rated' ? state.state : undefined, sample, {
            maxGapMs: 300_000,
            plausibility: exactRules,
          });
          assert.equal(outcome.kind, used <= limit ? 'rated' : 'rejected');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

function big(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
