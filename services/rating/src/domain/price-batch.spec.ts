import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toDecimal } from '@metering/money';
import { type AllocationBasis, parseTiers } from '@metering/pricing';
import { type InstanceState, type MeteredSample } from './metered-sample';
import { PlanTimeline, planVersionKey, ratingPlanOf } from './plan-timeline';
import {
  type MonthPosition,
  type PricedUsage,
  type RatingPlan,
  planBatch,
  positionKey,
  priceBatch,
} from './price-batch';
import { rateBatch } from './rate-batch';
import { sampleAt } from './test-samples';

const GiB = 1n << 30n;
const rules = { maxGapMs: 300_000 };
const OCT31 = Date.UTC(2026, 9, 31, 23, 0, 0);
const NOV = Date.UTC(2026, 10, 1);

function plan(version: number, basis: AllocationBasis = 'usage', cpuPrice = '0.04'): RatingPlan {
  return ratingPlanOf({
    id: 'std',
    version,
    currency: 'EUR',
    basis,
    cpu: parseTiers('cpu', [
      { upTo: '0.01', unitPrice: cpuPrice },
      { upTo: null, unitPrice: '0.01' },
    ]),
    memory: parseTiers('memory', [{ upTo: null, unitPrice: '0.005' }]),
    minimum: toDecimal('0'),
  });
}

function catalog(
  assignments: { tenantId: string; from: number; plan: RatingPlan }[],
): PlanTimeline {
  return new PlanTimeline(
    assignments.map((a) => ({
      tenantId: a.tenantId,
      effectiveFromMs: a.from,
      planId: a.plan.id,
      planVersion: a.plan.version,
    })),
    new Map(assignments.map((a) => [planVersionKey(a.plan.id, a.plan.version), a.plan])),
    new Map([['free', 'USD']]),
    'EUR',
  );
}

/** Rates and prices batches in order, carrying states and positions like the ledger does. */
function run(batches: MeteredSample[][], cat: PlanTimeline, zone = 'UTC') {
  const states = new Map<string, InstanceState>();
  const positions = new Map<string, MonthPosition>();
  const usages: PricedUsage[] = [];
  let bucketAmounts = 0n;
  let bucketCpu = 0n;
  for (const batch of batches) {
    const rating = rateBatch(batch, states, rules, () => zone);
    for (const [k, s] of rating.states) states.set(k, s);
    const planned = planBatch(rating.rated, cat);
    // What lockPositions would return: the stored rows of the batch's months.
    const locked = new Map<string, MonthPosition>();
    for (const k of planned.positionKeys) {
      const stored = positions.get(positionKey(k.tenantId, k.period));
      if (stored !== undefined) locked.set(positionKey(k.tenantId, k.period), stored);
    }
    const priced = priceBatch(planned, locked, cat);
    for (const [k, p] of priced.positions) positions.set(k, p);
    usages.push(...priced.usages);
    for (const a of priced.bucketAmounts.values()) bucketAmounts += a;
    for (const b of rating.buckets.values()) bucketCpu += b.cpuUsage;
  }
  return { usages, positions, bucketAmounts, bucketCpu };
}

const sum = (xs: readonly PricedUsage[], f: (u: PricedUsage) => bigint) =>
  xs.reduce((a, u) => a + f(u), 0n);

describe('priceBatch', () => {
  test('a tenant without a plan: zero amounts in its currency, no month position', () => {
    const cat = catalog([]);
    const samples = [10, 20].map((s) =>
      sampleAt(s, BigInt(s) * 1_000_000_000n, { tenantId: 'free' }),
    );
    const rating = rateBatch(samples, new Map(), rules, () => 'UTC');
    const planned = planBatch(rating.rated, cat);
    assert.deepEqual(planned.positionKeys, []);
    const priced = priceBatch(planned, new Map(), cat);
    assert.equal(priced.usages.length, 2);
    for (const u of priced.usages) {
      assert.equal(u.plan, null);
      assert.equal(u.currency, 'USD');
      assert.equal(u.cpuAmount + u.memoryAmount, 0n);
    }
    assert.equal(priced.positions.size, 0);
  });

  test('an interval across a month edge is priced as two usages, each from its own month position', () => {
    const p = plan(1);
    const cat = catalog([{ tenantId: 'acme', from: 0, plan: p }]);
    const first = sampleAt(0, 0n, { startedAtMs: NOV - 10_000, observedAtMs: NOV - 10_000 });
    const second = sampleAt(0, 20_000_000_000n, {
      startedAtMs: NOV - 10_000,
      observedAtMs: NOV + 30_000,
    });
    const { usages, positions } = run([[first, second]], cat);
    const crossing = usages.filter((u) => u.fromMs >= NOV - 10_000 && u.fromMs !== u.toMs - 1);
    assert.deepEqual(
      crossing.map((u) => [u.period, u.fromMs - NOV, u.toMs - NOV, u.cpuUsage]),
      [
        ['2026-10', -10_000, 0, 5_000_000_000n * 1000n], // 10 s of 40: a quarter of 20 core-seconds
        ['2026-11', 0, 30_000, 15_000_000_000n * 1000n],
      ],
    );
    const nov = positions.get(positionKey('acme', '2026-11'))!;
    // November starts at position 0: 15 core-seconds, of which the first 36 (0.01 h) at 0.04/h.
    assert.equal(nov.cpu, 15n * 10n ** 12n);
    assert.equal(nov.cpuAmount, p.cpu!.priceAt(15n * 10n ** 12n));
    assert.equal(crossing[1]!.cpuAmount, nov.cpuAmount);
  });

  test('a plan version that takes effect at the month edge prices the new month', () => {
    const v1 = plan(1, 'usage', '0.04');
    const v2 = plan(2, 'usage', '0.08');
    const cat = catalog([
      { tenantId: 'acme', from: 0, plan: v1 },
      { tenantId: 'acme', from: NOV, plan: v2 },
    ]);
    const samples = [OCT31 + 3_590_000, NOV + 10_000].map((t, i) =>
      sampleAt(0, BigInt(i + 1) * 10_000_000_000n, { startedAtMs: OCT31, observedAtMs: t }),
    );
    const { usages } = run([samples], cat);
    const last = usages.slice(-2);
    assert.deepEqual(
      last.map((u) => [u.period, u.plan?.version]),
      [
        ['2026-10', 1],
        ['2026-11', 2],
      ],
    );
  });

  test('the plan basis decides the priced quantity; usage quantities stay usage', () => {
    const p = plan(1, 'max');
    const cat = catalog([{ tenantId: 'acme', from: 0, plan: p }]);
    const s = [10, 20].map((sec) =>
      sampleAt(sec, BigInt(sec) * 100_000_000n, {
        cpuAllocationCores: '2',
        memoryUsageBytes: GiB,
        memoryAllocationBytes: 4n * GiB,
      }),
    );
    const { usages } = run([s], cat);
    const u = usages[1]!;
    assert.equal(u.basis, 'max');
    assert.equal(u.cpuUsage, 1_000_000_000n * 1000n); // 1 core-second used
    assert.equal(u.cpuPriced, 20n * 10n ** 12n); // 2 cores × 10 s allocated
    assert.equal(u.memoryUsage, GiB * 10_000n);
    assert.equal(u.memoryPriced, 4n * GiB * 10_000n);
  });

  test('an instant (observed before its start) becomes the millisecond it happened in', () => {
    const cat = catalog([]);
    const s = sampleAt(10, 5n, { startedAtMs: Date.UTC(2026, 10, 26, 13) });
    const { usages } = run([[s]], cat);
    assert.equal(usages[0]!.toMs - usages[0]!.fromMs, 1);
    assert.equal(usages[0]!.cpuUsage, 5000n);
  });

  test('however the stream is cut into batches, a month costs the graduated price of its total', () => {
    const p = plan(1, 'usage');
    const cat = catalog([
      { tenantId: 'acme', from: 0, plan: p },
      { tenantId: 'globex', from: 0, plan: plan(2, 'allocation') },
    ]);
    const stream = fc
      .array(
        fc.record({
          step: fc.integer({ min: 1, max: 900 }),
          cpu: fc.bigInt({ min: 0n, max: 50_000_000_000n }),
          memory: fc.bigInt({ min: 0n, max: 8n * GiB }),
          resource: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 60 },
      )
      .map((steps) => {
        const t = [0, 0, 0, 0];
        const cpu = [0n, 0n, 0n, 0n];
        return steps.map((s) => {
          t[s.resource]! += s.step;
          cpu[s.resource]! += s.cpu;
          return sampleAt(t[s.resource]!, cpu[s.resource]!, {
            tenantId: s.resource % 2 === 0 ? 'acme' : 'globex',
            resourceId: `r${s.resource}`,
            startedAtMs: OCT31 + 3_000_000,
            observedAtMs: OCT31 + 3_000_000 + t[s.resource]! * 1000,
            memoryUsageBytes: s.memory,
            cpuAllocationCores: '1.5',
          });
        });
      });
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 6 }), (samples, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (samples.length + 1)))].sort(
          (a, b) => a - b,
        );
        const batches: MeteredSample[][] = [];
        let from = 0;
        for (const c of [...points, samples.length]) {
          batches.push(samples.slice(from, c));
          from = c;
        }
        const whole = run([samples], cat);
        const cut = run(batches, cat);
        // Same amounts per usage, whatever the batches.
        assert.deepEqual(
          cut.usages.map((u) => [u.cpuAmount, u.memoryAmount]),
          whole.usages.map((u) => [u.cpuAmount, u.memoryAmount]),
        );
        for (const [key, position] of cut.positions) {
          const [tenant, period] = key.split('\u0000');
          const mine = cut.usages.filter((u) => u.tenantId === tenant && u.period === period);
          // priceBatch hands the pricing plan itself on as the usage’s plan reference.
          const used = mine[0]!.plan as RatingPlan;
          // Telescoping: Σ amounts = G(Σ priced quantity), per meter, exactly.
          assert.equal(
            sum(mine, (u) => u.cpuAmount),
            used.cpu!.priceAt(sum(mine, (u) => u.cpuPriced)),
          );
          assert.equal(
            sum(mine, (u) => u.memoryAmount),
            used.memory!.priceAt(sum(mine, (u) => u.memoryPriced)),
          );
          assert.equal(
            position.cpu,
            sum(mine, (u) => u.cpuPriced),
          );
          assert.equal(
            position.cpuAmount,
            sum(mine, (u) => u.cpuAmount),
          );
        }
        // Events and buckets carry the same CPU and the same charges.
        assert.equal(
          sum(cut.usages, (u) => u.cpuUsage),
          cut.bucketCpu,
        );
        assert.equal(
          sum(cut.usages, (u) => u.cpuAmount + u.memoryAmount),
          cut.bucketAmounts,
        );
      }),
      { numRuns: 150 },
    );
  });
});
