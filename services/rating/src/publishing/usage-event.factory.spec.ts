import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { usageIdOf, validateUsage } from '@metering/contracts';
import { toDecimal } from '@metering/money';
import { parseTiers } from '@metering/pricing';
import {
  PlanTimeline,
  planBatch,
  planVersionKey,
  priceBatch,
  rateBatch,
  ratingPlanOf,
} from '../domain';
import { sampleAt } from '../domain/test-samples';
import { NO_PLAN, usageEventOf } from './usage-event.factory';

const plan = ratingPlanOf({
  id: 'std',
  version: 3,
  currency: 'EUR',
  basis: 'usage',
  cpu: parseTiers('cpu', [{ upTo: null, unitPrice: '0.04' }]),
  memory: parseTiers('memory', [{ upTo: null, unitPrice: '0.0036' }]),
  minimum: toDecimal('0'),
});
const catalog = new PlanTimeline(
  [{ tenantId: 'acme', effectiveFromMs: 0, planId: 'std', planVersion: 3 }],
  new Map([[planVersionKey('std', 3), plan]]),
  new Map([['free', 'USD']]),
  'EUR',
);

function usages(tenantId: string) {
  // The example of libs/contracts: 90 core-seconds and 7.5 GiB-seconds over two minutes.
  const samples = [
    sampleAt(0, 0n, { tenantId, memoryUsageBytes: 1n << 30n }),
    sampleAt(120, 90_000_000_000n, { tenantId, memoryUsageBytes: 1n << 30n }),
  ].map((s, i) => (i === 0 ? s : { ...s, memoryUsageBytes: 1n << 30n }));
  const rating = rateBatch(samples, new Map(), { maxGapMs: 300_000 }, () => 'UTC');
  return priceBatch(planBatch(rating.rated, catalog), new Map(), catalog).usages;
}

describe('usageEventOf', () => {
  test('events follow billing.usage.v1, with the contract’s deterministic id', () => {
    const [, u] = usages('acme');
    const event = usageEventOf(u!, '2026-11-26T13:00:15.000Z');
    const checked = validateUsage(event);
    assert.ok(checked.ok, JSON.stringify(checked));
    assert.equal(
      event.usageId,
      usageIdOf({
        tenantId: 'acme',
        resourceKind: 'container',
        resourceId: 'r1',
        instanceId: 'i1',
        intervalStart: event.interval.start,
        intervalEnd: event.interval.end,
      }),
    );
    assert.equal(event.cpuCoreSeconds, '90');
    assert.equal(event.memoryGibSeconds, '120');
    // 90 core-seconds at 0.04/h = 0.001; 120 GiB-seconds at 0.0036/h = 0.00012
    assert.deepEqual(event.amounts, {
      currency: 'EUR',
      cpu: '0.001',
      memory: '0.00012',
      total: '0.00112',
    });
    assert.equal(event.planId, 'std');
    assert.equal(event.planVersion, 3);
    assert.equal(event['planAssigned'], true);
    assert.equal(event['period'], '2026-11');
  });

  test('a tenant without a plan: zero amounts in its currency, the reserved plan id', () => {
    for (const u of usages('free')) {
      const event = usageEventOf(u, '2026-11-26T13:00:15.000Z');
      assert.ok(validateUsage(event).ok);
      assert.deepEqual(event.amounts, { currency: 'USD', cpu: '0', memory: '0', total: '0' });
      assert.equal(event.planId, NO_PLAN.id);
      assert.equal(event['planAssigned'], false);
    }
  });
});
