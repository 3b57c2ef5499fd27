import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { usageIdOf, validateUsage } from '@metering/contracts';
import { toDecimal } from '@metering/money';
import { parseTiers } from '@metering/pricing';
import { type PricedUsage, ratingPlanOf } from '../domain';
import { encodeUsageEvent } from './usage-event.encoder';
import { usageEventOf } from './usage-event.factory';

const plan = ratingPlanOf({
  id: 'pl"an\\1',
  version: 7,
  currency: 'EUR',
  basis: 'max',
  cpu: parseTiers('cpu', [{ upTo: null, unitPrice: '0.04' }]),
  memory: null,
  minimum: toDecimal('0'),
});

const usage: fc.Arbitrary<PricedUsage> = fc
  .record({
    tenantId: fc.string({ minLength: 1, unit: 'binary' }),
    resourceKind: fc.constantFrom('container' as const, 'vm' as const),
    resourceId: fc.string({ minLength: 1 }),
    instanceId: fc.string({ minLength: 1, unit: 'grapheme' }),
    fromMs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    duration: fc.integer({ min: 1, max: 10_000_000 }),
    period: fc.constantFrom('2026-11', '2027-01'),
    planned: fc.boolean(),
    currency: fc.constantFrom('EUR', 'USD'),
    basis: fc.constantFrom('usage' as const, 'allocation' as const, 'max' as const),
    cpuUsage: fc.bigInt({ min: 0n, max: 10n ** 25n }),
    memoryUsage: fc.bigInt({ min: 0n, max: 10n ** 25n }),
    cpuPriced: fc.bigInt({ min: 0n, max: 10n ** 25n }),
    memoryPriced: fc.bigInt({ min: 0n, max: 10n ** 25n }),
    cpuAmount: fc.bigInt({ min: 0n, max: 10n ** 30n }),
    memoryAmount: fc.bigInt({ min: 0n, max: 10n ** 30n }),
    gap: fc.boolean(),
  })
  .map(({ duration, planned, ...u }) => ({
    ...u,
    toMs: u.fromMs + duration,
    plan: planned ? plan : null,
  }));

describe('encodeUsageEvent', () => {
  test('is exactly the JSON of usageEventOf, with the contract’s usage id, and valid', () => {
    fc.assert(
      fc.property(usage, (u) => {
        const ratedAt = '2026-11-26T13:00:15.000Z';
        const json = encodeUsageEvent(u, JSON.stringify(ratedAt));
        const expected = usageEventOf(u, ratedAt);
        assert.equal(json, JSON.stringify(expected));
        assert.equal(
          expected.usageId,
          usageIdOf({
            tenantId: u.tenantId,
            resourceKind: u.resourceKind,
            resourceId: u.resourceId,
            instanceId: u.instanceId,
            intervalStart: new Date(u.fromMs),
            intervalEnd: new Date(u.toMs),
          }),
        );
        const checked = validateUsage(JSON.parse(json));
        assert.ok(checked.ok, JSON.stringify(checked));
      }),
      { numRuns: 500 },
    );
  });
});
