import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from '@metering/money';
import {
  ScaleError,
  amount,
  byteSeconds,
  coreSeconds,
  formatScaled,
  gibSeconds,
  memoryUnitsOfGibSeconds,
  nanoCores,
  parseScaled,
} from './exact-units';

describe('exact units', () => {
  const cases: [bigint, number, string][] = [
    [0n, 12, '0'],
    [1n, 12, '0.000000000001'],
    [1_500_000_000_000n, 12, '1.5'],
    [-25n, 2, '-0.25'],
    [1234n, 0, '1234'],
    [100n, 2, '1'],
  ];
  for (const [value, scale, text] of cases) {
    test(`${value} at scale ${scale} prints ${text}`, () => {
      assert.equal(formatScaled(value, scale), text);
      assert.equal(parseScaled(text, scale), value);
    });
  }

  test('printing and parsing agree with libs/money decimals for any value and scale', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.nat(30), (v, scale) => {
        const text = formatScaled(v, scale);
        assert.equal(text, new Decimal(v.toString()).div(new Decimal(10).pow(scale)).toString());
        assert.equal(parseScaled(text, scale), v);
      }),
    );
  });

  test('parsing refuses what would lose value, and tolerates NUMERIC trailing zeros', () => {
    assert.throws(() => parseScaled('0.0000000000001', 12), ScaleError);
    assert.throws(() => parseScaled('1e5', 12), ScaleError);
    assert.equal(parseScaled('1.500000000000000', 12), 1_500_000_000_000n);
  });

  test('unit conversions: core-seconds, byte-seconds, GiB-seconds (exact ÷ 2^30), amounts', () => {
    assert.equal(coreSeconds(2_000_000_000n * 1000n), '2');
    assert.equal(byteSeconds(1500n), '1.5');
    // 1 GiB for 1.5 s: (2^30 bytes × 1500 ms) units
    assert.equal(gibSeconds((1n << 30n) * 1500n), '1.5');
    // Up to 10^18 units libs/money's 50 digits hold the exact quotient too.
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), (units) => {
        const text = gibSeconds(units);
        assert.equal(
          text,
          new Decimal(units.toString()).div(1000).div(new Decimal(2).pow(30)).toString(),
        );
        assert.equal(memoryUnitsOfGibSeconds(text), units);
      }),
    );
    assert.equal(amount(123n), '0.00000000000000000123');
  });

  test('cores to nano-cores', () => {
    assert.equal(nanoCores('0.5'), 500_000_000n);
    assert.equal(nanoCores('2'), 2_000_000_000n);
    assert.equal(nanoCores('0.000000001'), 1n);
  });
});
