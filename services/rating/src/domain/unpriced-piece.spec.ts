import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toDecimal } from '@metering/money';
import { parseTiers } from '@metering/pricing';
import { type InstanceState, type MeteredSample, instanceKey } from './metered-sample';
import { PlanTimeline, planVersionKey, ratingPlanOf } from './plan-timeline';
import {
  type MonthPosition,
  type PricedUsage,
  type RatingPlan,
  planBatch,
  planInterval,
  positionKey,
  priceBatch,
} from './price-batch';
import { foldBatch, rateBatch } from './rate-batch';
import { GaugeFold, resourceGauges } from './resource-gauge';
import { sampleAt } from './test-samples';
import { PieceFold, type UnpricedPiece, priceMonth, unpricedPieces } from './unpriced-piece';
import { windowUsages } from './usage-window';
import { zoneCalendar } from './zone-calendar';

// The pricing stage's arithmetic (docs/adr/0014): pieces folded on the hot path, priced per tenant
// month afterwards, give the same windows (quantities, spans, plans, gaps), the same month
// positions and the same total charges as pricing each batch in its own transaction did.

const NOV = Date.UTC(2026, 10, 1);
const START = NOV - 40 * 60_000; // 40 minutes before a month edge where the plan changes
const rules = { maxGapMs: 300_000 };

function plan(version: number, cpuPrice: string): RatingPlan {
  return ratingPlanOf({
    id: 'std',
    version,
    currency: 'EUR',
    basis: 'usage',
    cpu: parseTiers('cpu', [
      { upTo: '0.5', unitPrice: cpuPrice },
      { upTo: null, unitPrice: '0.01' },
    ]),
    memory: parseTiers('memory', [
      { upTo: '1', unitPrice: '0.005' },
      { upTo: null, unitPrice: '0.002' },
    ]),
    minimum: toDecimal('0'),
  });
}

const V1 = plan(1, '0.04');
const V2 = plan(2, '0.03');
/** acme on plan std from each instant given, at the version given; free has no plan. */
function acmeTimeline(changes: readonly [effectiveFromMs: number, version: 1 | 2][]): PlanTimeline {
  return new PlanTimeline(
    changes.map(([effectiveFromMs, planVersion]) => ({
      tenantId: 'acme',
      effectiveFromMs,
      planId: 'std',
      planVersion,
    })),
    new Map([
      [planVersionKey('std', 1), V1],
      [planVersionKey('std', 2), V2],
    ]),
    new Map([['free', 'USD']]),
    'EUR',
  );
}

const CATALOG = acmeTimeline([
  [0, 1],
  [NOV, 2],
]);
const UTC = zoneCalendar('UTC');
// The plan changing inside a usage window too (23 min 17 s after START): a piece must not fold
// across it.
const MID_WINDOW = acmeTimeline([
  [0, 1],
  [START + 1_397_000, 2],
  [NOV, 1],
]);
const periodOf = (s: InstanceState): string => UTC.periodOf(s.lastObservedAtMs);

/** Pricing in the batch, as rating did before the stage: usages in rating order, positions. */
function inBatch(batches: MeteredSample[][], windowMs: number) {
  const states = new Map<string, InstanceState>();
  const positions = new Map<string, MonthPosition>();
  const open = new Map<string, PricedUsage>();
  const closed: PricedUsage[] = [];
  let charged = 0n;
  for (const batch of batches) {
    const rating = rateBatch(batch, states, rules, () => 'UTC');
    for (const [k, s] of rating.states) states.set(k, s);
    const planned = planBatch(rating.rated, CATALOG);
    const priced = priceBatch(planned, positions, CATALOG);
    for (const [k, p] of priced.positions) positions.set(k, p);
    for (const a of priced.bucketAmounts.values()) charged += a;
    const windows = windowUsages(priced.usages, open, rating.states, { windowMs });
    closed.push(...windows.closed);
    for (const [k, w] of windows.open) {
      if (w === null) open.delete(k);
      else open.set(k, w);
    }
  }
  return { windows: [...closed, ...open.values()], positions, charged };
}

/** The hot path's pieces, priced by the stage per tenant month after every `every` batches. */
function staged(batches: MeteredSample[][], windowMs: number, every: number) {
  const states = new Map<string, InstanceState>();
  const positions = new Map<string, MonthPosition>();
  const open = new Map<string, Map<string, PricedUsage>>(); // per month
  const closed: PricedUsage[] = [];
  let queue: UnpricedPiece[] = [];
  let charged = 0n;
  let pieceCount = 0;
  const pass = () => {
    const months = new Map<string, UnpricedPiece[]>();
    for (const p of queue) {
      const k = positionKey(p.tenantId, p.period);
      months.set(k, [...(months.get(k) ?? []), p]);
    }
    queue = [];
    for (const [k, pieces] of months) {
      const { tenantId, period } = pieces[0]!;
      const stored = open.get(k) ?? new Map<string, PricedUsage>();
      const month = priceMonth(
        pieces,
        tenantId,
        period,
        positions.get(k) ?? null,
        stored,
        CATALOG,
        { windowMs },
      );
      if (month.position !== null) positions.set(k, month.position);
      for (const a of month.bucketAmounts.values()) charged += a;
      closed.push(...month.closed);
      for (const [ik, w] of month.open) {
        if (w === null) stored.delete(ik);
        else stored.set(ik, w);
      }
      open.set(k, stored);
    }
  };
  batches.forEach((batch, i) => {
    const rating = rateBatch(batch, states, rules, () => 'UTC');
    for (const [k, s] of rating.states) states.set(k, s);
    const pieces = unpricedPieces(
      planBatch(rating.rated, CATALOG),
      { windowMs },
      rating.states.values(),
      periodOf,
    );
    pieceCount += pieces.length;
    queue.push(...pieces);
    if ((i + 1) % every === 0) pass();
  });
  pass();
  const stillOpen = [...open.values()].flatMap((m) => [...m.values()]);
  const finals = [...states.values()].filter((s) => s.final).map(instanceKey);
  return { windows: [...closed, ...stillOpen], stillOpen, finals, positions, charged, pieceCount };
}

/** A window without its amounts (they depend on the order pieces are priced in). */
function shape(w: PricedUsage): string {
  return [
    instanceKey(w),
    w.fromMs,
    w.toMs,
    w.period,
    w.plan === null ? '-' : `${w.plan.id}@${w.plan.version}`,
    w.currency,
    w.gap,
    w.cpuUsage,
    w.memoryUsage,
    w.cpuPriced,
    w.memoryPriced,
  ].join('|');
}

const amountOf = (ws: readonly PricedUsage[]): bigint =>
  ws.reduce((s, w) => s + w.cpuAmount + w.memoryAmount, 0n);

/** Samples of a few instances (two tenants), interleaved by time, cut into batches. */
const streams = fc
  .record({
    instances: fc.array(
      fc.record({
        tenant: fc.constantFrom('acme', 'free'),
        steps: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        final: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    cuts: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
  })
  .map(({ instances, cuts }) => {
    const samples: MeteredSample[] = [];
    instances.forEach((inst, n) => {
      let t = 0;
      let cpu = 0n;
      inst.steps.forEach((step, i) => {
        t += step;
        cpu += BigInt(step) * 300_000_000n;
        const last = i === inst.steps.length - 1;
        samples.push(
          sampleAt(t, cpu, {
            tenantId: inst.tenant,
            resourceId: `r${n}`,
            instanceId: `i${n}`,
            startedAtMs: START,
            observedAtMs: START + t * 1000,
            memoryUsageBytes: BigInt(1 + n) << 28n,
            ...(last && inst.final ? { lifecycle: 'final' as const } : {}),
          }),
        );
      });
    });
    samples.sort((a, b) => a.observedAtMs - b.observedAtMs);
    const batches: MeteredSample[][] = [];
    let at = 0;
    for (let i = 0; at < samples.length; i++) {
      const size = cuts[i % cuts.length]!;
      batches.push(samples.slice(at, at + size));
      at += size;
    }
    return batches;
  });

describe('unpriced pieces priced by the stage (docs/adr/0014)', () => {
  test('the same windows, month positions and charges as pricing in the batch', () => {
    fc.assert(
      fc.property(
        streams,
        fc.constantFrom(0, 60_000, 300_000),
        fc.integer({ min: 1, max: 4 }),
        (batches, windowMs, every) => {
          const before = inBatch(batches, windowMs);
          const after = staged(batches, windowMs, every);
          assert.deepEqual(after.windows.map(shape).sort(), before.windows.map(shape).sort());
          assert.deepEqual(after.positions, before.positions);
          assert.equal(after.charged, before.charged, 'bucket charges add up the same');
          // Published plus open = priced = the positions' charges.
          const positioned = [...after.positions.values()].reduce(
            (s, p) => s + p.cpuAmount + p.memoryAmount,
            0n,
          );
          assert.equal(amountOf(after.windows), after.charged);
          assert.equal(after.charged, positioned);
          // An instance's final sample closes its window at once.
          const openKeys = new Set(after.stillOpen.map(instanceKey));
          assert.deepEqual(
            after.finals.filter((k) => openKeys.has(k)),
            [],
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('one pass (foldBatch, planInterval or addRated, PieceFold, GaugeFold) gives what the batch functions give', () => {
    fc.assert(
      fc.property(
        streams,
        fc.constantFrom(0, 60_000, 300_000),
        fc.constantFrom(CATALOG, MID_WINDOW),
        (batches, windowMs, catalog) => {
          const states = new Map<string, InstanceState>();
          for (const batch of batches) {
            const rating = rateBatch(batch, states, rules, () => 'UTC');
            const pieces = unpricedPieces(
              planBatch(rating.rated, catalog),
              { windowMs },
              rating.states.values(),
              periodOf,
            );
            const pieceFold = new PieceFold({ windowMs });
            // As the service folds (batch-fold.ts): the plan looked up without a planned interval.
            const ratedFold = new PieceFold({ windowMs });
            const gaugeFold = new GaugeFold();
            let handed = 0;
            const fold = foldBatch(
              batch,
              states,
              rules,
              () => 'UTC',
              (r, key) => {
                handed += 1;
                pieceFold.add(planInterval(r, catalog));
                ratedFold.addRated(r, catalog, key);
                gaugeFold.add(r);
              },
            );
            assert.deepEqual(pieceFold.finish(fold.states.values(), periodOf), pieces);
            assert.deepEqual(ratedFold.finish(fold.states.values(), periodOf), pieces);
            assert.deepEqual(gaugeFold.gauges, resourceGauges(rating.rated));
            assert.deepEqual(fold.states, rating.states);
            assert.deepEqual(fold.buckets, rating.buckets);
            assert.equal(fold.ratedCount, rating.intervals.length);
            assert.equal(handed, rating.intervals.length);
            const clipped = rating.intervals.filter((i) => i.clippedMs !== 0);
            assert.equal(fold.clipped, clipped.length);
            assert.equal(
              fold.clippedCpuNs,
              clipped.reduce((n, i) => n + i.clippedCpuNs, 0n),
            );
            for (const [k, s] of rating.states) states.set(k, s);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a plan that changes inside a window starts a piece of its own, folded either way', () => {
    // Samples 1,300 s, 1,400 s and 1,450 s after START: the change at 1,397 s falls inside the
    // 300-s window [1,200 s, 1,500 s) between the first interval and the second.
    const samples = [1_300, 1_400, 1_450].map((t, i) =>
      sampleAt(t, BigInt(i + 1) * 1_000_000_000n, {
        startedAtMs: START + 1_250_000,
        observedAtMs: START + t * 1000,
      }),
    );
    const windows = { windowMs: 300_000 };
    const rating = rateBatch(samples, new Map(), rules, () => 'UTC');
    const pieces = unpricedPieces(
      planBatch(rating.rated, MID_WINDOW),
      windows,
      rating.states.values(),
      periodOf,
    );
    const ratedFold = new PieceFold(windows);
    const fold = foldBatch(
      samples,
      new Map(),
      rules,
      () => 'UTC',
      (r, key) => ratedFold.addRated(r, MID_WINDOW, key),
    );
    assert.deepEqual(ratedFold.finish(fold.states.values(), periodOf), pieces);
    assert.deepEqual(
      pieces.map((p) => [p.parts[0]!.fromMs - START, p.parts.at(-1)!.toMs - START]),
      [
        [1_250_000, 1_400_000],
        [1_400_000, 1_450_000],
      ],
      'the first two intervals under version 1, the third under version 2',
    );
  });

  test('pieces are per instance and window, not per sample', () => {
    const samples = Array.from({ length: 60 }, (_, i) =>
      sampleAt((i + 1) * 10, BigInt(i + 1) * 1_000_000_000n, {
        startedAtMs: START,
        observedAtMs: START + (i + 1) * 10_000,
      }),
    );
    const rating = rateBatch(samples, new Map(), rules, () => 'UTC');
    const pieces = unpricedPieces(
      planBatch(rating.rated, CATALOG),
      { windowMs: 300_000 },
      rating.states.values(),
      periodOf,
    );
    // 60 samples of 10 s from START + 10 s: 10 minutes in 5-minute windows, the first starting
    // at the first sample: three windows, not 59 intervals.
    assert.ok(pieces.length <= 3, `${pieces.length} pieces`);
    assert.equal(
      pieces.reduce((s, p) => s + p.parts.reduce((q, x) => q + x.cpuUsage, 0n), 0n),
      [...rating.buckets.values()].reduce((s, b) => s + b.cpuUsage, 0n),
    );
  });
});
