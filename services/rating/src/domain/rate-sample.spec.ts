import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type InstanceState } from './metered-sample';
import { MAX_INTERVAL_MS, rateSample, type SampleOutcome } from './rate-sample';
import { T0, sampleAt } from './test-samples';

const rules = { maxGapMs: 60_000 };
const GiB = 1n << 30n;

function rated(outcome: SampleOutcome) {
  assert.equal(outcome.kind, 'rated');
  if (outcome.kind !== 'rated') throw new Error('unreachable');
  return outcome;
}

function stateAfter(seconds: number, cpuNs: bigint, memory = GiB): InstanceState {
  return rated(rateSample(undefined, sampleAt(seconds, cpuNs, { memoryUsageBytes: memory }), rules))
    .state;
}

describe('rateSample', () => {
  test('the first sample counts CPU and memory since the instance started', () => {
    const { interval } = rated(rateSample(undefined, sampleAt(10, 2_000_000_000n), rules));
    assert.equal(interval.fromMs, T0);
    assert.equal(interval.toMs, T0 + 10_000);
    assert.equal(interval.cpuUsageNs, 2_000_000_000n);
    assert.equal(interval.memoryUsageBytes, GiB);
    assert.equal(interval.gap, false);
  });

  const cases: {
    name: string;
    previousCpu: bigint;
    nextCpu: bigint;
    expectCpu: bigint;
    reset: boolean;
  }[] = [
    {
      name: 'a rising counter gives its delta',
      previousCpu: 5n,
      nextCpu: 12n,
      expectCpu: 7n,
      reset: false,
    },
    {
      name: 'an unchanged counter gives zero',
      previousCpu: 9n,
      nextCpu: 9n,
      expectCpu: 0n,
      reset: false,
    },
    {
      name: 'a falling counter is a reset: the new value is the usage',
      previousCpu: 900n,
      nextCpu: 40n,
      expectCpu: 40n,
      reset: true,
    },
    {
      name: 'a reset to zero gives zero, never negative',
      previousCpu: 900n,
      nextCpu: 0n,
      expectCpu: 0n,
      reset: true,
    },
    {
      name: 'counters beyond 2^53 stay exact',
      previousCpu: 9_007_199_254_740_993n,
      nextCpu: 9_007_199_254_740_995n,
      expectCpu: 2n,
      reset: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { interval } = rated(
        rateSample(stateAfter(10, c.previousCpu), sampleAt(20, c.nextCpu), rules),
      );
      assert.equal(interval.cpuUsageNs, c.expectCpu);
      assert.equal(interval.counterReset, c.reset);
      assert.equal(interval.fromMs, T0 + 10_000);
    });
  }

  test('the previous level of memory holds until the next sample', () => {
    const prev = stateAfter(10, 1n, 3n * GiB);
    const { interval, state } = rated(
      rateSample(prev, sampleAt(20, 2n, { memoryUsageBytes: 5n * GiB }), rules),
    );
    assert.equal(interval.memoryUsageBytes, 3n * GiB);
    assert.equal(state.lastMemoryUsageBytes, 5n * GiB);
  });

  test('a duplicate (same observation time) changes nothing', () => {
    const outcome = rateSample(stateAfter(10, 100n), sampleAt(10, 100n), rules);
    assert.deepEqual(outcome, { kind: 'ignored', reason: 'duplicate' });
  });

  test('an older sample arriving late is ignored: the newer counter already holds its CPU', () => {
    const outcome = rateSample(stateAfter(30, 300n), sampleAt(20, 200n), rules);
    assert.deepEqual(outcome, { kind: 'ignored', reason: 'out-of-order' });
  });

  test('a silence longer than the limit is a gap: CPU counted, no memory level invented', () => {
    const { interval } = rated(rateSample(stateAfter(10, 100n), sampleAt(10 + 61, 700n), rules));
    assert.equal(interval.gap, true);
    assert.equal(interval.cpuUsageNs, 600n);
    assert.equal(interval.memoryUsageBytes, null);
  });

  test('a first sample observed before its start (clock skew) is an instant', () => {
    const sample = sampleAt(10, 5n, { startedAtMs: T0 + 20_000 });
    const { interval } = rated(rateSample(undefined, sample, rules));
    assert.equal(interval.fromMs, interval.toMs);
    assert.equal(interval.cpuUsageNs, 5n);
  });

  test('a final sample marks the instance final', () => {
    const { state } = rated(
      rateSample(stateAfter(10, 1n), sampleAt(20, 2n, { lifecycle: 'final' }), rules),
    );
    assert.equal(state.final, true);
  });

  test('no sample accounts for more than the longest interval: a 1970 start is clipped, its CPU in proportion', () => {
    // A collector whose clock was reset reports a start in 1970: rated whole, this one sample
    // would cut 56 years into ~500,000 hour buckets (seconds of CPU and hundreds of MB).
    const sample = sampleAt(0, 1_000_000_000_000n, { startedAtMs: 0 });
    const { interval } = rated(rateSample(undefined, sample, rules));
    assert.equal(interval.toMs - interval.fromMs, MAX_INTERVAL_MS);
    const kept = (1_000_000_000_000n * BigInt(MAX_INTERVAL_MS)) / BigInt(T0);
    assert.equal(interval.cpuUsageNs, kept);
    assert.equal(interval.clippedCpuNs + interval.cpuUsageNs, 1_000_000_000_000n);
    assert.equal(interval.clippedMs, T0 - MAX_INTERVAL_MS);
    assert.equal(interval.gap, true);
    assert.equal(interval.memoryUsageBytes, null);
  });

  test('the longest interval is a rule: 2 days of silence with a 1-day limit keep the last day', () => {
    const outcome = rated(
      rateSample(stateAfter(0, 0n), sampleAt(2 * 86_400, 2_000n), {
        maxGapMs: 60_000,
        maxIntervalMs: 86_400_000,
      }),
    );
    assert.equal(outcome.interval.fromMs, T0 + 86_400_000);
    assert.equal(outcome.interval.cpuUsageNs, 1_000n);
    assert.equal(outcome.interval.clippedCpuNs, 1_000n);
    // The state moves to the sample as usual: the next delta starts from its counter.
    assert.equal(outcome.state.lastCpuUsageNs, 2_000n);
  });

  test('intervals within the limit are rated whole', () => {
    const { interval } = rated(rateSample(stateAfter(10, 100n), sampleAt(10 + 61, 700n), rules));
    assert.equal(interval.clippedCpuNs, 0n);
    assert.equal(interval.clippedMs, 0);
    assert.equal(interval.fromMs, T0 + 10_000);
  });
});
