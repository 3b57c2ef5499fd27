import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from './decimal';
import { minorUnitsOf } from './currency';
import { Money, sumMoney } from './money';
import { byteSecondsToGibSeconds, nanosecondsToCoreSeconds } from './quantity';

const currency = fc.constantFrom('EUR', 'JPY', 'KWD', 'CLF');

/** A decimal string with up to 12 fraction digits and up to ~30 significant digits. */
const decimalString = fc
  .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 }))
  .map(([unscaled, scale]) =>
    new Decimal(unscaled.toString()).div(new Decimal(10).pow(scale)).toFixed(),
  );

test('rounding to the minor unit is idempotent', () => {
  fc.assert(
    fc.property(decimalString, currency, (amount, code) => {
      const once = Money.parse(amount, code).roundToMinor();
      assert.ok(once.roundToMinor().equals(once));
      assert.equal(once.toFixed(), Money.parse(amount, code).toFixed());
    }),
  );
});

test('rounding moves an amount by at most half a minor unit', () => {
  fc.assert(
    fc.property(decimalString, currency, (amount, code) => {
      const money = Money.parse(amount, code);
      const halfUnit = new Decimal(10).pow(-minorUnitsOf(code)).div(2);
      assert.ok(money.roundToMinor().amount.minus(money.amount).abs().lte(halfUnit));
    }),
  );
});

test('rounding is symmetric around zero (half away from zero)', () => {
  fc.assert(
    fc.property(decimalString, currency, (amount, code) => {
      const money = Money.parse(amount, code);
      assert.ok(money.negate().roundToMinor().equals(money.roundToMinor().negate()));
      assert.equal(money.negate().toMinorUnits(), -money.toMinorUnits());
    }),
  );
});

test('the sum of parts equals the whole', () => {
  fc.assert(
    fc.property(
      fc.array(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), { maxLength: 50 }),
      currency,
      (units, code) => {
        const total = sumMoney(
          units.map((u) => Money.fromMinorUnits(u, code)),
          code,
        );
        assert.equal(
          total.toMinorUnits(),
          units.reduce((a, b) => a + b, 0n),
        );
      },
    ),
  );
});

test('splitting an amount in two and adding the halves back is exact', () => {
  fc.assert(
    fc.property(decimalString, decimalString, (whole, part) => {
      const total = Money.parse(whole, 'EUR');
      const first = Money.parse(part, 'EUR');
      assert.ok(first.add(total.subtract(first)).equals(total));
    }),
  );
});

test('toString parses back to the same amount', () => {
  fc.assert(
    fc.property(decimalString, currency, (amount, code) => {
      const money = Money.parse(amount, code);
      assert.ok(Money.parse(money.toString(), code).equals(money));
    }),
  );
});

test('unit conversions of counters up to 2^64 are exact', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (counter) => {
      assert.equal(
        BigInt(nanosecondsToCoreSeconds(counter).times(1_000_000_000n.toString()).toFixed()),
        counter,
      );
      assert.equal(
        BigInt(byteSecondsToGibSeconds(counter).times(new Decimal(2).pow(30)).toFixed()),
        counter,
      );
    }),
  );
});
