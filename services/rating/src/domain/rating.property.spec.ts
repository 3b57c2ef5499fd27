import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from '@metering/money';
import { type InstanceState, type MeteredSample } from './metered-sample';
import { parseTiers, priceGraduated } from '@metering/pricing';
import { byteSeconds, coreSeconds } from './exact-units';
import { rateBatch } from './rate-batch';
import { type UsageInterval } from './rate-sample';
import { type BucketUsage, addBuckets, bucketKey, splitInterval } from './usage-bucket';
import { T0, sampleAt } from './test-samples';

const rules = { maxGapMs: 45_000 };
const ZONES = ['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'America/St_Johns'];
const zoneOf = (tenant: string) => (tenant === 'in' ? 'Asia/Kolkata' : 'UTC');

/** One instance's clean stream: strictly increasing times, a counter that may reset. */
const instanceStream = (resourceId: string, instanceId: string, tenantId: string) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 7200 }),
      fc.array(
        fc.record({
          stepSeconds: fc.integer({ min: 1, max: 4000 }),
          cpuStepNs: fc.bigInt({ min: 0n, max: 5_000_000_000_000n }),
          reset: fc.integer({ min: 0, max: 9 }).map((n) => n === 0), // one step in ten
          memory: fc.bigInt({ min: 0n, max: 1n << 36n }),
        }),
        { minLength: 1, maxLength: 25 },
      ),
    )
    .map(([startSeconds, steps]) => {
      let t = startSeconds;
      let cpu = 0n;
      return steps.map((s, i): MeteredSample => {
        t += s.stepSeconds;
        cpu = s.reset && i > 0 ? s.cpuStepNs : cpu + s.cpuStepNs;
        return sampleAt(t, cpu, {
          tenantId,
          resourceId,
          instanceId,
          memoryUsageBytes: s.memory,
          lifecycle: i === 0 ? 'start' : 'running',
        });
      });
    });

const fleet = fc
  .tuple(
    instanceStream('r1', 'a', 'acme'),
    instanceStream('r1', 'b', 'acme'),
    instanceStream('r2', 'a', 'in'),
  )
  .map((streams) => streams);

function ledgerOf(batches: MeteredSample[][]): {
  buckets: Map<string, string>;
  states: Map<string, InstanceState>;
} {
  const states = new Map<string, InstanceState>();
  const buckets = new Map<string, BucketUsage>();
  for (const batch of batches) {
    const r = rateBatch(batch, states, rules, zoneOf);
    for (const [k, s] of r.states) states.set(k, s);
    for (const [k, b] of r.buckets) {
      const prev = buckets.get(k);
      buckets.set(k, prev === undefined ? b : addBuckets(prev, b));
    }
  }
  const printable = new Map<string, string>();
  for (const [k, b] of buckets) {
    printable.set(
      k,
      [b.cpuUsage, b.cpuAllocation, b.cpuMax, b.memoryUsage, b.memoryAllocation, b.memoryMax]
        .map((d) => d.toString())
        .concat([String(b.observedMs), String(b.gapMs)])
        .join('|'),
    );
  }
  return { buckets: printable, states };
}

/** Splits a sequence into consecutive batches at the given cut points. */
function cut<T>(items: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (items.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const p of points) {
    out.push(items.slice(from, p));
    from = p;
  }
  out.push(items.slice(from));
  return out;
}

describe('rating properties', () => {
  test('duplicates, replays, interleaving and batching leave the ledger identical to the clean stream', () => {
    fc.assert(
      fc.property(
        fleet,
        fc.array(fc.nat(), { maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (streams, noise, cuts) => {
          const clean = streams.flat();
          // Deliver each instance in order, interleaved as `noise` says, re-sending an already
          // sent sample (a duplicate, or a replay after a consumer restart) wherever it says so.
          const cursors = streams.map(() => 0);
          const delivered: MeteredSample[] = [];
          for (let n = 0; delivered.length < clean.length * 3; n++) {
            const open = streams
              .map((s, i) => i)
              .filter((i) => (cursors[i] ?? 0) < (streams[i]?.length ?? 0));
            if (open.length === 0) break;
            const pick = noise.length === 0 ? n : (noise[n % noise.length] ?? 0) + n;
            const i = open[pick % open.length]!;
            const stream = streams[i]!;
            const c = cursors[i]!;
            delivered.push(stream[c]!);
            cursors[i] = c + 1;
            if (pick % 3 === 0) delivered.push(stream[pick % (c + 1)]!);
          }
          for (const [i, stream] of streams.entries()) delivered.push(...stream.slice(cursors[i]));
          const expected = ledgerOf([clean]);
          const actual = ledgerOf(cut(delivered, cuts));
          assert.deepEqual(actual.buckets, expected.buckets);
          assert.deepEqual(actual.states, expected.states);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('any arrival order of one instance keeps its total CPU when the counter never resets', () => {
    fc.assert(
      fc.property(
        instanceStream('r9', 'x', 'acme').map((s) => {
          // Rebuild without resets: a cumulative counter.
          let cpu = 0n;
          return s.map((x, i) => ({ ...x, cpuUsageNs: (cpu += BigInt(i + 1) * 1_000_003n) }));
        }),
        fc.infiniteStream(fc.nat()),
        (stream, randomness) => {
          const shuffled = [...stream].sort(() => (randomness.next().value % 3) - 1);
          const r = rateBatch(shuffled, new Map(), rules, zoneOf);
          const total = r.intervals.reduce((a, i) => a + i.cpuUsageNs, 0n);
          assert.equal(total, stream[stream.length - 1]!.cpuUsageNs);
          assert.ok(r.intervals.every((i) => i.cpuUsageNs >= 0n));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a counter reset never yields negative or doubled usage', () => {
    fc.assert(
      fc.property(instanceStream('r1', 'a', 'acme'), (stream) => {
        const r = rateBatch(stream, new Map(), rules, zoneOf);
        // Usage is the sum, over the runs between resets, of each run's last counter value.
        let expected = 0n;
        for (let i = 0; i < stream.length; i++) {
          const here = stream[i]!.cpuUsageNs;
          const next = stream[i + 1]?.cpuUsageNs;
          if (next === undefined || next < here) expected += here;
        }
        const total = r.intervals.reduce((a, i) => a + i.cpuUsageNs, 0n);
        assert.ok(r.intervals.every((i) => i.cpuUsageNs >= 0n));
        assert.equal(total, expected);
      }),
      { numRuns: 300 },
    );
  });

  test('splitting at any boundary in any zone conserves every quantity exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 * 86_400_000 }),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        fc.constantFrom(...ZONES),
        (offset, duration, cpu, memory, zone) => {
          const interval: UsageInterval = {
            tenantId: 't',
            resourceKind: 'vm',
            resourceId: 'r',
            instanceId: 'i',
            fromMs: T0 + offset,
            toMs: T0 + offset + duration,
            cpuUsageNs: cpu,
            cpuAllocationCores: '1.5',
            memoryUsageBytes: memory,
            memoryAllocationBytes: null,
            gap: false,
            counterReset: false,
            clippedMs: 0,
            clippedCpuNs: 0n,
          };
          const parts = splitInterval(interval, zone);
          const sum = (f: (b: BucketUsage) => bigint) => parts.reduce((a, b) => a + f(b), 0n);
          // Checked against libs/money decimals: the integer units convert exactly.
          assert.equal(
            coreSeconds(sum((b) => b.cpuUsage)),
            new Decimal(cpu.toString()).div(1e9).toString(),
          );
          assert.equal(
            byteSeconds(sum((b) => b.memoryUsage)),
            new Decimal(memory.toString()).times(duration).div(1000).toString(),
          );
          assert.equal(
            coreSeconds(sum((b) => b.cpuAllocation)),
            new Decimal('1.5').times(duration).div(1000).toString(),
          );
          assert.equal(
            parts.reduce((a, b) => a + b.observedMs, 0),
            duration,
          );
          // Every part lies in a distinct bucket, in order.
          const keys = parts.map(bucketKey);
          assert.equal(new Set(keys).size, keys.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('graduated tiers equal the hand-computed sum, and pricing in parts equals pricing whole', () => {
    const decimalHours = fc
      .integer({ min: 0, max: 2_000_000 })
      .map((n) => new Decimal(n).div(1000));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { minLength: 0, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 5, maxLength: 5 }),
        decimalHours,
        decimalHours,
        (bounds, prices, a, b) => {
          const sorted = [...bounds].sort((x, y) => x - y);
          const input = [...sorted.map((u) => String(u)), null].map((upTo, i) => ({
            upTo,
            unitPrice: new Decimal(prices[i] ?? 0).div(10_000).toString(),
          }));
          const tiers = parseTiers('t', input);
          // Reference: Σ price_i × clamp(q − lower_i, 0, upper_i − lower_i), in hours.
          const reference = (q: Decimal) => {
            let total = new Decimal(0);
            let lower = new Decimal(0);
            for (const t of tiers) {
              const upper = t.upTo ?? Decimal.max(q, lower);
              const inTier = Decimal.max(0, Decimal.min(q, upper).minus(lower));
              total = total.plus(inTier.times(t.unitPrice));
              lower = upper;
            }
            return total;
          };
          const whole = priceGraduated(tiers, a.plus(b).times(3600));
          assert.equal(whole.amount.toString(), reference(a.plus(b)).toString());
          const first = priceGraduated(tiers, a.times(3600));
          const second = priceGraduated(tiers, b.times(3600), a.times(3600));
          assert.equal(first.amount.plus(second.amount).toString(), whole.amount.toString());
        },
      ),
      { numRuns: 300 },
    );
  });
});
