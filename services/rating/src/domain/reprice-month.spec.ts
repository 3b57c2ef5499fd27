import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal, toDecimal } from '@metering/money';
import { parseTiers, priceGraduated } from '@metering/pricing';
import { amount, coreSeconds } from './exact-units';
import { PlanTimeline, planVersionKey, ratingPlanOf } from './plan-timeline';
import { type RatingPlan } from './price-batch';
import { repriceMonth } from './reprice-month';
import { type BucketUsage } from './usage-bucket';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);
const CPU_A = [
  { upTo: '1', unitPrice: '0.040' },
  { upTo: null, unitPrice: '0.030' },
];
const CPU_B = [
  { upTo: '2', unitPrice: '0.100' },
  { upTo: null, unitPrice: '0.050' },
];

function plan(version: number, cpu: typeof CPU_A): RatingPlan {
  return ratingPlanOf({
    id: 'std',
    version,
    currency: 'EUR',
    basis: 'usage',
    cpu: parseTiers('cpu', cpu),
    memory: null,
    minimum: toDecimal('0'),
  });
}

function catalog(assignments: { fromMs: number; plan: RatingPlan }[]): PlanTimeline {
  return new PlanTimeline(
    assignments.map((a) => ({
      tenantId: 'acme',
      effectiveFromMs: a.fromMs,
      planId: a.plan.id,
      planVersion: a.plan.version,
    })),
    new Map(assignments.map((a) => [planVersionKey(a.plan.id, a.plan.version), a.plan])),
    new Map([['acme', 'EUR']]),
    'EUR',
  );
}

/** `hours` buckets from `startMs`, each with `seconds` core-seconds, two resources per hour. */
function buckets(startMs: number, hours: number, seconds: bigint): BucketUsage[] {
  return Array.from({ length: hours * 2 }, (_, i) => ({
    tenantId: 'acme',
    resourceKind: 'container' as const,
    resourceId: `r${i % 2}`,
    bucketStartMs: startMs + Math.floor(i / 2) * HOUR,
    cpuUsage: seconds * 10n ** 12n,
    cpuAllocation: 0n,
    cpuMax: seconds * 10n ** 12n,
    memoryUsage: 0n,
    memoryAllocation: 0n,
    memoryMax: 0n,
    observedMs: HOUR,
    gapMs: 0,
    inferredGapMs: 0,
    samplesExpected: 0,
    samplesObserved: 0,
    samplesThinned: 0,
    declaredMs: 0,
    declaredGapMs: 0,
  }));
}

const total = (m: ReadonlyMap<string, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);
const price = (tiers: typeof CPU_A, seconds: Decimal, prior = new Decimal(0)) =>
  priceGraduated(parseTiers('t', tiers), seconds, prior).amount;

describe('repriceMonth', () => {
  test('a plan assigned back to the 1st prices the whole month: the graduated price of its total', () => {
    const month = buckets(NOV, 10, 900n); // 20 buckets of 0.25 core-hours: 5 core-hours
    const r = repriceMonth(
      month,
      'acme',
      '2026-11',
      'UTC',
      catalog([{ fromMs: NOV, plan: plan(1, CPU_A) }]),
    );
    assert.equal(amount(total(r.amounts)), price(CPU_A, new Decimal(18_000)).toString());
    assert.equal(coreSeconds(r.position!.cpu), '18000');
    assert.equal(r.position!.cpuAmount, total(r.amounts));
  });

  test('an assignment inside an hour takes the whole hour; the position continues across versions', () => {
    const month = buckets(NOV, 10, 900n);
    // Version 2 from 04:30: the 04:00 bucket and later are priced by it, as on the invoice.
    const r = repriceMonth(
      month,
      'acme',
      '2026-11',
      'UTC',
      catalog([
        { fromMs: NOV, plan: plan(1, CPU_A) },
        { fromMs: NOV + 4.5 * HOUR, plan: plan(2, CPU_B) },
      ]),
    );
    const before = new Decimal(4 * 2 * 900); // 00:00-04:00: 7,200 core-seconds under version 1
    const after = new Decimal(6 * 2 * 900);
    const expected = price(CPU_A, before).plus(price(CPU_B, after, before));
    assert.equal(amount(total(r.amounts)), expected.toDecimalPlaces(20).toString());
  });

  test('without a plan the month is free and has no position; the order of the buckets does not matter', () => {
    const month = buckets(NOV, 3, 60n);
    const none = repriceMonth(month, 'acme', '2026-11', 'UTC', catalog([]));
    assert.equal(none.position, null);
    assert.equal(total(none.amounts), 0n);
    const c = catalog([{ fromMs: NOV, plan: plan(1, CPU_A) }]);
    assert.deepEqual(
      repriceMonth([...month].reverse(), 'acme', '2026-11', 'UTC', c),
      repriceMonth(month, 'acme', '2026-11', 'UTC', c),
    );
  });

  test('a bucket of another month or tenant is refused', () => {
    assert.throws(
      () => repriceMonth(buckets(NOV - HOUR, 1, 1n), 'acme', '2026-11', 'UTC', catalog([])),
      RangeError,
    );
  });

  test('in pages, each continuing from the position before, it prices as the whole month at once', () => {
    // Plan A from the 1st, B from the 3rd hour: tiers cross inside pages and across them.
    const timeline = catalog([
      { fromMs: NOV, plan: plan(1, CPU_A) },
      { fromMs: NOV + 3 * HOUR, plan: plan(2, CPU_B) },
    ]);
    const month = buckets(NOV, 12, 1_000n);
    const whole = repriceMonth(month, 'acme', '2026-11', 'UTC', timeline);
    for (const size of [1, 3, 7, 24]) {
      const amounts = new Map<string, bigint>();
      let position = null;
      for (let i = 0; i < month.length; i += size) {
        const page = repriceMonth(
          month.slice(i, i + size),
          'acme',
          '2026-11',
          'UTC',
          timeline,
          position,
        );
        for (const [k, v] of page.amounts) amounts.set(k, v);
        position = page.position;
      }
      assert.deepEqual(amounts, whole.amounts, `pages of ${size}`);
      assert.deepEqual(position, whole.position, `pages of ${size}`);
    }
  });
});
