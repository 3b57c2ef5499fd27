import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type CompletenessCounters,
  NO_COUNTERS,
  addCounters,
  completenessShare,
} from '@metering/pricing';
import { type MeteredSample } from './metered-sample';
import { rateBatch } from './rate-batch';
import { type BucketUsage } from './usage-bucket';
import { T0, sampleAt } from './test-samples';

// Completeness (libs/pricing completeness.ts, ADR 0013) against a hand count: a collector ticks
// every I; each tick's sample is delivered, lost, or thinned by the spool (the next delivered
// sample then says so); the stream ends with a final, or is cut (the collector down) and ends
// with a final inferred after the restart. Rating's bucket counters must give exactly
// delivered / (ticks the collector should have produced), whatever the drops, hour edges and
// gap limit; thinned and the unseen tail are counted as such.

const I = 10_000;
const rules = { maxGapMs: 300_000 };
const UTC = (): string => 'UTC';

type Fate = 'delivered' | 'lost' | 'thinned';

interface Stream {
  readonly samples: MeteredSample[];
  readonly delivered: number;
  readonly lost: number;
  readonly thinned: number;
  /** Ticks in the unseen tail (0 when the stream ends with a real final). */
  readonly tailTicks: number;
  readonly tailMs: number;
  readonly lastCpuNs: bigint;
}

const streamArb = fc
  .record({
    startOffsetMs: fc.integer({ min: 0, max: 86_400_000 }),
    fates: fc.array(
      fc.constantFrom<Fate>('delivered', 'delivered', 'delivered', 'lost', 'thinned'),
      { minLength: 1, maxLength: 600 },
    ),
    // Jitter of each tick: a sample is late or early by less than a quarter interval.
    jitters: fc.array(fc.integer({ min: -2_400, max: 2_400 }), { minLength: 602, maxLength: 602 }),
    cut: fc.option(
      fc.record({
        tailTicks: fc.integer({ min: 0, max: 2_000 }),
        rest: fc.integer({ min: 2_500, max: 7_500 }),
      }),
    ),
    declared: fc.boolean(),
  })
  .map(({ startOffsetMs, fates, jitters, cut, declared }): Stream & { declared: boolean } => {
    const startedAtMs = T0 + startOffsetMs;
    const tickAt = (k: number): number => startedAtMs + k * I + (k === 0 ? 0 : jitters[k]!);
    const samples: MeteredSample[] = [];
    let delivered = 0;
    let lost = 0;
    let thinned = 0;
    let pendingThinned = 0;
    let cpu = 0n;
    const over = (k: number): Partial<MeteredSample> => ({
      resourceId: 'vm-1',
      instanceId: 'boot-1',
      startedAtMs,
      ...(declared ? { intervalMs: I } : {}),
      observedAtMs: tickAt(k),
    });
    // Tick 0 (start) and the last tick are always delivered: the spool never thins them.
    const all: Fate[] = ['delivered', ...fates, 'delivered'];
    all.forEach((fate, k) => {
      cpu += 1_000_000n;
      const last = k === all.length - 1;
      if (fate !== 'delivered') {
        if (fate === 'lost') lost += 1;
        else {
          thinned += 1;
          pendingThinned += 1;
        }
        return;
      }
      delivered += 1;
      samples.push(
        sampleAt(0, cpu, {
          ...over(k),
          lifecycle: k === 0 ? 'start' : last && cut === null ? 'final' : 'running',
          ...(pendingThinned > 0 ? { thinned: pendingThinned } : {}),
        }),
      );
      pendingThinned = 0;
    });
    let tailTicks = 0;
    let tailMs = 0;
    if (cut !== null) {
      // The collector died after the last delivered sample; restarted, it found the VM gone and
      // repeated that reading 1 ms later, detected `tailTicks` intervals and a part later.
      const lastAt = tickAt(all.length - 1);
      const observedAtMs = lastAt + 1;
      const detectedAt = lastAt + cut.tailTicks * I + cut.rest;
      tailMs = detectedAt - observedAtMs;
      tailTicks = cut.tailTicks;
      delivered += 1; // the inferred final is a sample rating accepts
      samples.push(
        sampleAt(0, cpu, {
          ...over(all.length - 1),
          observedAtMs,
          lifecycle: 'final',
          inferredDetectedAtMs: detectedAt,
        }),
      );
    }
    return { samples, delivered, lost, thinned, tailTicks, tailMs, lastCpuNs: cpu, declared };
  });

function countersOf(buckets: Iterable<BucketUsage>): CompletenessCounters {
  let c = NO_COUNTERS;
  for (const b of buckets) {
    c = addCounters(c, {
      observedMs: BigInt(b.observedMs),
      gapMs: BigInt(b.gapMs),
      inferredGapMs: BigInt(b.inferredGapMs),
      samplesExpected: BigInt(b.samplesExpected),
      samplesObserved: BigInt(b.samplesObserved),
      samplesThinned: BigInt(b.samplesThinned),
      declaredMs: BigInt(b.declaredMs),
      declaredGapMs: BigInt(b.declaredGapMs),
    });
  }
  return c;
}

describe('completeness equals the hand-counted share', () => {
  test('random drops, thinning and truncated tails, in one batch or sample by sample', () => {
    fc.assert(
      fc.property(streamArb, fc.boolean(), (s, oneByOne) => {
        const batches = oneByOne ? s.samples.map((x) => [x]) : [s.samples];
        const buckets: BucketUsage[] = [];
        let known = new Map();
        let cpuUnits = 0n;
        for (const batch of batches) {
          const r = rateBatch(batch, known, rules, UTC);
          known = new Map([...known, ...r.states]);
          buckets.push(...r.buckets.values());
          for (const b of r.buckets.values()) cpuUnits += b.cpuUsage;
        }
        const c = countersOf(buckets);
        const share = completenessShare(c);
        assert.ok(share !== null);
        // Nothing is invented for the tail: the CPU billed is the last counter, exactly.
        assert.equal(cpuUnits, s.lastCpuNs * 1000n);
        assert.equal(c.inferredGapMs, BigInt(s.tailMs));
        const state = [...known.values()][0] as { final: boolean };
        assert.equal(state.final, true, 'the instance is closed');
        if (s.declared) {
          const expected = s.delivered + s.lost + s.thinned + s.tailTicks;
          assert.equal(c.samplesExpected, BigInt(expected));
          assert.equal(c.samplesObserved, BigInt(s.delivered));
          assert.equal(c.samplesThinned, BigInt(s.thinned));
          // share = delivered / expected, as exact fractions.
          assert.equal(share.numerator * BigInt(expected), share.denominator * BigInt(s.delivered));
        } else {
          // Without a declared interval: judged by time, the share outside gaps and tails.
          assert.equal(c.samplesExpected, 0n);
          assert.equal(c.samplesObserved, 0n, 'undeclared samples are not counted');
          const life = c.observedMs + c.gapMs + c.inferredGapMs;
          assert.equal(share.numerator * life, share.denominator * c.observedMs);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('an inferred final', () => {
  const base = { resourceId: 'vm-1', instanceId: 'boot-1', intervalMs: I } as const;
  const samples = [
    sampleAt(0, 0n, { ...base, lifecycle: 'start' }),
    sampleAt(10, 1_000_000n, base),
    sampleAt(20.001, 1_000_000n, {
      ...base,
      lifecycle: 'final',
      inferredDetectedAtMs: T0 + 20_000 + 3 * 3_600_000,
    }),
  ];

  test('records its unseen tail as a gap of its length, across hours, with no usage', () => {
    const r = rateBatch(samples, new Map(), rules, UTC);
    const buckets = [...r.buckets.values()].sort((a, b) => a.bucketStartMs - b.bucketStartMs);
    assert.deepEqual(
      buckets.map((b) => b.inferredGapMs),
      [3_600_000 - 20_001, 3_600_000, 3_600_000, 20_000],
    );
    assert.ok(buckets.slice(1).every((b) => b.cpuUsage === 0n && b.memoryUsage === 0n));
    assert.equal(
      buckets.reduce((a, b) => a + b.samplesExpected, 0),
      3 + Math.floor((3 * 3_600_000 - 1) / I),
    );
    // Only the rated intervals are priced and published: the tail is no usage interval.
    assert.equal(r.intervals.length, 3);
    assert.ok(r.intervals.every((i) => i.toMs <= T0 + 20_001));
  });

  test('its tail is bounded by the longest interval a sample may account for', () => {
    const r = rateBatch(samples, new Map(), { ...rules, maxIntervalMs: 3_600_000 }, UTC);
    const tail = [...r.buckets.values()].reduce((a, b) => a + b.inferredGapMs, 0);
    assert.equal(tail, 3_600_000);
  });

  test('a redelivered inferred final changes nothing', () => {
    const first = rateBatch(samples, new Map(), rules, UTC);
    const again = rateBatch([samples[2]!], first.states, rules, UTC);
    assert.equal(again.buckets.size, 0);
    assert.equal(again.duplicates, 1);
  });
});
