import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal } from '@metering/money';
import { parseTiers, priceGraduated, pricePlanOfStored } from './price-plan';
import { PricingError } from './pricing.errors';

const hours = (h: string) => new Decimal(h).times(3600); // unit-hours → unit-seconds
const tiers = parseTiers('cpu.tiers', [
  { upTo: '100', unitPrice: '0.040' },
  { upTo: '300', unitPrice: '0.035' },
  { upTo: null, unitPrice: '0.030' },
]);

describe('graduated pricing (hand-computed)', () => {
  const cases: [string, string, string][] = [
    // quantity in hours, amount, why
    ['0', '0', 'nothing used'],
    ['50', '2', '50 × 0.040'],
    ['100', '4', 'exactly the first tier'],
    ['150', '5.75', '100 × 0.040 + 50 × 0.035'],
    ['400', '14', '4 + 200 × 0.035 + 100 × 0.030'],
    ['0.5', '0.02', 'half an hour'],
  ];
  for (const [q, amount, why] of cases) {
    test(`${q} vCPU-hours cost ${amount} (${why})`, () => {
      assert.equal(priceGraduated(tiers, hours(q)).amount.toString(), amount);
    });
  }

  test('usage that follows earlier usage of the month starts in the tier it reached', () => {
    const later = priceGraduated(tiers, hours('100'), hours('250'));
    // 50 h at 0.035 (250→300) + 50 h at 0.030 (300→350)
    assert.equal(later.amount.toString(), '3.25');
    assert.deepEqual(
      later.tiers.map((t) => [t.tierIndex, t.quantityHours.toString()]),
      [
        [1, '50'],
        [2, '50'],
      ],
    );
  });

  test('a flat price is one unbounded tier', () => {
    const flat = parseTiers('memory.tiers', [{ upTo: null, unitPrice: '0.0050' }]);
    // 1 GiB for 30 days = 720 GiB-hours
    assert.equal(priceGraduated(flat, hours('720')).amount.toString(), '3.6');
  });
});

describe('tier validation names the field', () => {
  const bad: [string, { upTo: string | null; unitPrice: string }[], RegExp][] = [
    ['no tiers', [], /cpu.tiers: needs at least one tier/],
    ['negative price', [{ upTo: null, unitPrice: '-1' }], /cpu.tiers\[0\].unitPrice: must be >= 0/],
    [
      'bounded last tier',
      [{ upTo: '10', unitPrice: '1' }],
      /cpu.tiers\[0\].upTo: the last tier must be unbounded/,
    ],
    [
      'unbounded middle tier',
      [
        { upTo: null, unitPrice: '1' },
        { upTo: null, unitPrice: '1' },
      ],
      /cpu.tiers\[0\].upTo: only the last tier may be unbounded/,
    ],
    [
      'decreasing bounds',
      [
        { upTo: '10', unitPrice: '1' },
        { upTo: '5', unitPrice: '1' },
        { upTo: null, unitPrice: '1' },
      ],
      /cpu.tiers\[1\].upTo: must be greater/,
    ],
  ];
  for (const [name, input, message] of bad) {
    test(name, () => {
      assert.throws(
        () => parseTiers('cpu.tiers', input),
        (e: unknown) => {
          assert.ok(e instanceof PricingError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe('a stored plan version (the plan-row mapper of rating and billing)', () => {
  const stored = {
    id: 'std',
    version: 3,
    currency: 'EUR',
    basis: 'max' as const,
    cpuTiers: [
      { upTo: '100', unitPrice: '0.040' },
      { upTo: null, unitPrice: '0.030' },
    ],
    memoryTiers: null,
    minimum: '12.50',
  };

  test('is validated and parsed: exact tiers, free meters stay null, the minimum exact', () => {
    const plan = pricePlanOfStored(stored);
    assert.equal(plan.basis, 'max');
    assert.equal(plan.memory, null);
    assert.equal(plan.cpu?.[0]?.upTo?.toString(), '100');
    assert.equal(plan.cpu?.[1]?.unitPrice.toString(), '0.03');
    assert.equal(plan.minimum.toString(), '12.5');
  });

  test('a stored plan that breaks the rules names the plan version and meter', () => {
    assert.throws(
      () => pricePlanOfStored({ ...stored, cpuTiers: [{ upTo: '100', unitPrice: '1' }] }),
      (e: unknown) => e instanceof PricingError && e.message.includes('price_plan std@3 cpu'),
    );
  });
});
