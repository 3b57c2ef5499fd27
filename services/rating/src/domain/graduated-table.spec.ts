import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from '@metering/money';
import { parseTiers, priceGraduated } from '@metering/pricing';
import { amount, coreSeconds, gibSeconds } from './exact-units';
import { CPU_UNITS_PER_HOUR, GraduatedTable, MEMORY_UNITS_PER_HOUR } from './graduated-table';

const cpuTiers = parseTiers('cpu', [
  { upTo: '100', unitPrice: '0.040' },
  { upTo: '300', unitPrice: '0.035' },
  { upTo: null, unitPrice: '0.030' },
]);
const hours = (h: string) => (BigInt(Math.round(Number(h) * 1000)) * CPU_UNITS_PER_HOUR) / 1000n;

/** libs/pricing's decimal price, rounded half-up to the table's 20 places. */
const reference = (tiers: ReturnType<typeof parseTiers>, seconds: Decimal, prior?: Decimal) =>
  priceGraduated(tiers, seconds, prior)
    .amount.toDecimalPlaces(20, Decimal.ROUND_HALF_UP)
    .toString();

describe('GraduatedTable (exact integer graduated pricing)', () => {
  const table = new GraduatedTable(cpuTiers, CPU_UNITS_PER_HOUR);
  const cases: [string, string][] = [
    ['0', '0'],
    ['50', '2'],
    ['100', '4'],
    ['150', '5.75'],
    ['400', '14'],
    ['0.5', '0.02'],
  ];
  for (const [q, expected] of cases) {
    test(`${q} vCPU-hours cost ${expected}`, () => {
      assert.equal(amount(table.priceAt(hours(q))), expected);
    });
  }

  test('an increment continues in the tier the month reached', () => {
    // 50 h at 0.035 (250→300) + 50 h at 0.030 (300→350)
    assert.equal(amount(table.priceIncrement(hours('100'), hours('250'))), '3.25');
  });

  test('a third of a cent per hour: 20 places, rounded half up', () => {
    const third = new GraduatedTable(
      parseTiers('cpu', [{ upTo: null, unitPrice: '0.01' }]),
      CPU_UNITS_PER_HOUR,
    );
    // 1 core-second at 0.01/h = 0.01/3600 = 0.0000027777…
    assert.equal(amount(third.priceAt(10n ** 12n)), '0.00000277777777777778');
  });

  const tiersArb = fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: 1, max: 5_000_000 }), { maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 5, maxLength: 5 }),
      fc.integer({ min: 0, max: 3 }),
    )
    .map(([bounds, prices, boundPlaces]) =>
      parseTiers(
        't',
        [
          ...[...bounds]
            .sort((a, b) => a - b)
            .map((u) => new Decimal(u).div(10 ** boundPlaces).toString()),
          null,
        ].map((upTo, i) => ({
          upTo,
          unitPrice: new Decimal(prices[i] ?? 0).div(100_000).toString(),
        })),
      ),
    );

  test('CPU: equals libs/pricing priceGraduated (rounded to 20 places) for any tiers and quantity', () => {
    fc.assert(
      fc.property(tiersArb, fc.bigInt({ min: 0n, max: 10n ** 22n }), (tiers, units) => {
        const t = new GraduatedTable(tiers, CPU_UNITS_PER_HOUR);
        assert.equal(amount(t.priceAt(units)), reference(tiers, new Decimal(coreSeconds(units))));
      }),
      { numRuns: 300 },
    );
  });

  test('memory (GiB-hours of byte-milliseconds): equals libs/pricing too', () => {
    fc.assert(
      fc.property(tiersArb, fc.bigInt({ min: 0n, max: 10n ** 25n }), (tiers, units) => {
        const t = new GraduatedTable(tiers, MEMORY_UNITS_PER_HOUR);
        assert.equal(amount(t.priceAt(units)), reference(tiers, new Decimal(gibSeconds(units))));
      }),
      { numRuns: 300 },
    );
  });

  test('telescoping: parts priced at their running position add up to the whole, exactly', () => {
    fc.assert(
      fc.property(
        tiersArb,
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 18n }), { minLength: 1, maxLength: 40 }),
        (tiers, parts) => {
          const t = new GraduatedTable(tiers, CPU_UNITS_PER_HOUR);
          let position = 0n;
          let sum = 0n;
          for (const q of parts) {
            sum += t.priceIncrement(q, position);
            position += q;
          }
          assert.equal(sum, t.priceAt(position));
          assert.equal(amount(sum), reference(tiers, new Decimal(coreSeconds(position))));
        },
      ),
      { numRuns: 300 },
    );
  });
});
