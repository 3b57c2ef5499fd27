import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toDecimal } from '@metering/money';
import { parseTiers } from '@metering/pricing';
import {
  type InstanceState,
  type MeteredSample,
  PlanTimeline,
  type UnpricedPiece,
  emptyPosition,
  planBatch,
  planVersionKey,
  positionKey,
  rateBatch,
  ratingPlanOf,
  unpricedPieces,
  zoneCalendar,
} from '../domain';
import { sampleAt } from '../domain/test-samples';
import { byBucketKey } from '../ledger/batch-ledger.store';
import { type MonthPage, type PassPlan, planPass } from './month-pass';

// A pass over several leased months plans what a pass over each would, month for month: the
// queue's months priced together write the same charges, positions, windows and events.

const NOV = Date.UTC(2026, 10, 1);
const plan = ratingPlanOf({
  id: 'std',
  version: 1,
  currency: 'EUR',
  basis: 'usage',
  cpu: parseTiers('cpu', [
    { upTo: '0.5', unitPrice: '0.04' },
    { upTo: null, unitPrice: '0.01' },
  ]),
  memory: parseTiers('memory', [{ upTo: null, unitPrice: '0.002' }]),
  minimum: toDecimal('0'),
});
// 'acme' and 'ßeta' have a plan; 'free' has none (its months have no position).
const CATALOG = new PlanTimeline(
  ['acme', 'ßeta'].map((tenantId) => ({
    tenantId,
    effectiveFromMs: 0,
    planId: 'std',
    planVersion: 1,
  })),
  new Map([[planVersionKey('std', 1), plan]]),
  new Map([['free', 'USD']]),
  'EUR',
);
const UTC = zoneCalendar('UTC');
const windowRules = { windowMs: 600_000 };

/** The pieces of `steps` five-minute samples from 40 minutes before November, by month. */
function piecesByMonth(tenants: readonly string[], resources: number, steps: number) {
  const samples: MeteredSample[] = [];
  const T0 = Date.UTC(2026, 10, 26, 12, 0, 0); // sampleAt's origin
  for (let i = 1; i <= steps; i++)
    for (const tenantId of tenants)
      for (let r = 0; r < resources; r++)
        samples.push(
          sampleAt((NOV - 40 * 60_000 - T0) / 1000 + i * 300, BigInt(i) * 100_000_000n, {
            tenantId,
            resourceId: `${tenantId}-r${r}`,
            instanceId: `${tenantId}-r${r}-i`,
            startedAtMs: NOV - 45 * 60_000,
          }),
        );
  const rating = rateBatch(samples, new Map(), { maxGapMs: 600_000 }, () => 'UTC');
  const pieces = unpricedPieces(
    planBatch(rating.rated, CATALOG),
    windowRules,
    rating.states.values(),
    (s: InstanceState) => UTC.periodOf(s.lastObservedAtMs),
  );
  const months = new Map<string, UnpricedPiece[]>();
  for (const p of pieces) {
    const k = positionKey(p.tenantId, p.period);
    months.set(k, [...(months.get(k) ?? []), p]);
  }
  return months;
}

/** One plan of several passes: each list concatenated, in the passes' order. */
function concat(plans: readonly PassPlan[]) {
  return {
    amounts: plans.flatMap((p) => p.amounts),
    moved: plans.flatMap((p) => p.moved),
    positions: plans.flatMap((p) => p.positions),
    pieceIds: plans.flatMap((p) => p.pieceIds),
    windows: plans.flatMap((p) => p.windows),
    closedBy: new Map(plans.flatMap((p) => [...p.closedBy])),
    notFull: plans.flatMap((p) => p.notFull),
    empties: plans.flatMap((p) => p.empties),
    more: new Set(plans.flatMap((p) => [...p.more])),
    pieces: new Map(plans.flatMap((p) => [...p.pieces])),
  };
}

describe('planPass: months priced together', () => {
  test('property: a pass over several months plans what a pass over each would', () => {
    fc.assert(
      fc.property(
        fc.subarray(['acme', 'free', 'ßeta'], { minLength: 1 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.boolean(),
        (tenants, resources, steps, limit, dropEmpty, reversed) => {
          const byMonth = piecesByMonth(tenants, resources, steps);
          const pages = new Map<string, MonthPage>();
          const leased: { key: { tenantId: string; period: string }; position: never }[] = [];
          let id = 0;
          for (const [k, pieces] of byMonth) {
            const page = pieces.slice(0, limit);
            pages.set(k, { ids: page.map(() => String(++id)), pieces: page, windows: [] });
            const { tenantId, period } = pieces[0]!;
            leased.push({
              key: { tenantId, period },
              position: emptyPosition(tenantId, period) as never,
            });
          }
          // A month leased with nothing to price (its page empty).
          leased.push({
            key: { tenantId: 'acme', period: '2027-01' },
            position: emptyPosition('acme', '2027-01') as never,
          });
          if (reversed) leased.reverse();
          const options = { limit, dropEmpty };
          const together = planPass(leased, pages, CATALOG, windowRules, options);
          const apart = concat(
            leased.map((l) => planPass([l], pages, CATALOG, windowRules, options)),
          );
          const { amounts, ...rest } = together;
          const { amounts: apartAmounts, ...apartRest } = apart;
          assert.deepEqual(rest, apartRest);
          // The charges: the same, in bucket key order (how the settle statement writes rows).
          assert.deepEqual(amounts, [...apartAmounts].sort(byBucketKey));
          // A full page is more to price; the others close their idle windows in this pass.
          for (const [k, page] of pages)
            assert.equal(together.more.has(k), page.ids.length === limit);
          assert.equal(
            together.pieceIds.length,
            [...pages.values()].reduce((n, p) => n + p.ids.length, 0),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  test('the scenario the property draws from has charges, moved positions, events and empties', () => {
    const byMonth = piecesByMonth(['acme', 'free'], 2, 24);
    const pages = new Map<string, MonthPage>();
    const leased = [...byMonth].map(([k, pieces]) => {
      pages.set(k, { ids: pieces.map((_, i) => `${k}/${i}`), pieces, windows: [] });
      const { tenantId, period } = pieces[0]!;
      return { key: { tenantId, period }, position: emptyPosition(tenantId, period) };
    });
    const plan = planPass(leased, pages, CATALOG, windowRules, { limit: 1000, dropEmpty: true });
    assert.deepEqual(leased.map((l) => `${l.key.tenantId}/${l.key.period}`).sort(), [
      'acme/2026-10',
      'acme/2026-11',
      'free/2026-10',
      'free/2026-11',
    ]);
    assert.ok(plan.amounts.length > 0);
    assert.deepEqual(plan.moved.map((m) => `${m.tenantId}/${m.period}`).sort(), [
      'acme/2026-10',
      'acme/2026-11',
    ]);
    assert.ok([...plan.closedBy.values()].flat().length > 0);
    assert.deepEqual(
      plan.empties.map((k) => k.tenantId),
      ['free', 'free'],
    );
    assert.equal(plan.more.size, 0);
  });
});
