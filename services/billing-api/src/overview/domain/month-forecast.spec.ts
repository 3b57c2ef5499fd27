import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from '@metering/money';
import { periodBounds } from '@metering/pricing';
import { forecastMonthEnd, MIN_FORECAST_ELAPSED_MS } from './month-forecast';

const DEC = periodBounds('2026-12', 'Europe/Paris');
const HOUR = 3_600_000;
const base = {
  periodStartMs: DEC.startMs,
  periodEndMs: DEC.endMs,
  currency: 'EUR',
  amountToDate: '10.00',
  cpuCoreHoursToDate: '100',
  memoryGibHoursToDate: '400',
  minimumCommitment: '0',
};

describe('forecastMonthEnd (linear run-rate)', () => {
  test('a table of cases', () => {
    const cases: [
      string,
      Partial<typeof base> & { atMs: number },
      Record<string, string | null>,
    ][] = [
      [
        'a tenth of the month: ten times the figures',
        { atMs: DEC.startMs + (DEC.endMs - DEC.startMs) / 10 },
        { elapsedShare: '0.100000', usageAmount: '100.00', amount: '100.00', cpuCoreHours: '1000' },
      ],
      [
        'half the month, the minimum above the run-rate',
        { atMs: DEC.startMs + (DEC.endMs - DEC.startMs) / 2, minimumCommitment: '50.00' },
        { elapsedShare: '0.500000', usageAmount: '20.00', amount: '50.00', memoryGibHours: '800' },
      ],
      [
        'the month over: the figures to date',
        { atMs: DEC.endMs + 5 * HOUR },
        { elapsedShare: '1.000000', usageAmount: '10.00', amount: '10.00', cpuCoreHours: '100' },
      ],
      [
        'under an hour: no forecast yet',
        { atMs: DEC.startMs + MIN_FORECAST_ELAPSED_MS - 1 },
        { usageAmount: null, amount: null, cpuCoreHours: null, memoryGibHours: null },
      ],
      [
        'before the month: nothing elapsed',
        { atMs: DEC.startMs - HOUR },
        { elapsedShare: '0.000000', amount: null },
      ],
      [
        'a third: rounded half-up to cents, quantities to 6 decimals',
        {
          atMs: DEC.startMs + (DEC.endMs - DEC.startMs) / 3,
          amountToDate: '0.01',
          cpuCoreHoursToDate: '1',
        },
        { elapsedShare: '0.333333', usageAmount: '0.03', cpuCoreHours: '3' },
      ],
      [
        'JPY has no minor unit',
        { atMs: DEC.startMs + (DEC.endMs - DEC.startMs) / 4, currency: 'JPY', amountToDate: '333' },
        { usageAmount: '1332', amount: '1332' },
      ],
    ];
    for (const [name, input, expected] of cases) {
      const forecast = forecastMonthEnd({ ...base, ...input });
      assert.equal(forecast.method, 'linear-run-rate', name);
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(forecast[key as keyof typeof forecast], value, `${name}: ${key}`);
      }
    }
  });

  test('an empty period or a non-finite instant is a programming error', () => {
    assert.throws(() => forecastMonthEnd({ ...base, atMs: Number.NaN }), RangeError);
    assert.throws(
      () =>
        forecastMonthEnd({ ...base, periodEndMs: base.periodStartMs, atMs: base.periodStartMs }),
      RangeError,
    );
  });

  test('properties: never below the figures to date or the minimum; exact at month end; monotone in the amount', () => {
    const money = fc
      .integer({ min: 0, max: 10_000_000 })
      .map((c) => new Decimal(c).div(100).toFixed(2));
    const quantity = fc
      .integer({ min: 0, max: 10_000_000_000 })
      .map((n) => new Decimal(n).div(1_000_000).toFixed());
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DEC.endMs - DEC.startMs }),
        money,
        money,
        money,
        quantity,
        (elapsed, amount, more, minimum, cpu) => {
          const input = {
            ...base,
            atMs: DEC.startMs + elapsed,
            amountToDate: amount,
            minimumCommitment: minimum,
            cpuCoreHoursToDate: cpu,
          };
          const f = forecastMonthEnd(input);
          const share = new Decimal(f.elapsedShare);
          assert.ok(share.gte(0) && share.lte(1));
          if (elapsed < MIN_FORECAST_ELAPSED_MS) {
            assert.equal(f.amount, null);
            return;
          }
          const usage = new Decimal(f.usageAmount ?? 'NaN');
          assert.ok(usage.gte(amount), `${f.usageAmount} ≥ ${amount}`);
          assert.ok(new Decimal(f.amount ?? 'NaN').eq(Decimal.max(usage, minimum)));
          assert.ok(new Decimal(f.cpuCoreHours ?? 'NaN').gte(new Decimal(cpu).toDecimalPlaces(6)));
          // More spent so far never forecasts less.
          const higher = forecastMonthEnd({
            ...input,
            amountToDate: new Decimal(amount).plus(more).toFixed(2),
          });
          assert.ok(new Decimal(higher.usageAmount ?? 'NaN').gte(usage));
          if (elapsed === DEC.endMs - DEC.startMs) {
            assert.equal(f.usageAmount, amount);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
