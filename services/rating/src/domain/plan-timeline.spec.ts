import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toDecimal } from '@metering/money';
import { parseTiers } from '@metering/pricing';
import {
  PlanTimeline,
  UnknownPlanVersionError,
  planVersionKey,
  ratingPlanOf,
} from './plan-timeline';
import { type RatingPlan } from './price-batch';

const plan = (id: string, version: number, currency = 'EUR'): RatingPlan =>
  ratingPlanOf({
    id,
    version,
    currency,
    basis: 'usage',
    cpu: parseTiers('cpu', [{ upTo: null, unitPrice: '0.04' }]),
    memory: null,
    minimum: toDecimal('0'),
  });
const plans = new Map([
  [planVersionKey('std', 1), plan('std', 1)],
  [planVersionKey('std', 2), plan('std', 2)],
]);
const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);

describe('PlanTimeline', () => {
  const timeline = new PlanTimeline(
    [
      { tenantId: 'acme', effectiveFromMs: DEC, planId: 'std', planVersion: 2 },
      { tenantId: 'acme', effectiveFromMs: NOV, planId: 'std', planVersion: 1 },
    ],
    plans,
    new Map([
      ['acme', 'EUR'],
      ['globex', 'USD'],
    ]),
    'CHF',
  );

  test('the latest assignment in effect at the instant applies, from its first millisecond', () => {
    assert.equal(timeline.planAt('acme', NOV - 1), null);
    assert.equal(timeline.planAt('acme', NOV)?.version, 1);
    assert.equal(timeline.planAt('acme', DEC - 1)?.version, 1);
    assert.equal(timeline.planAt('acme', DEC)?.version, 2);
    assert.equal(timeline.planAt('globex', DEC), null);
  });

  test('currency of tenants without a plan: their own, else the default', () => {
    assert.equal(timeline.currencyOf('globex'), 'USD');
    assert.equal(timeline.currencyOf('unregistered'), 'CHF');
  });

  test('an assignment to a version that does not exist is refused', () => {
    assert.throws(
      () =>
        new PlanTimeline(
          [{ tenantId: 'acme', effectiveFromMs: NOV, planId: 'gold', planVersion: 1 }],
          plans,
          new Map(),
          'EUR',
        ),
      UnknownPlanVersionError,
    );
  });
});
