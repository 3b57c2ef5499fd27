import { assertCurrency, type CurrencyCode, minorUnitsOf } from './currency';
import { Decimal, type DecimalLike, decimalToString, parseDecimal, toDecimal } from './decimal';
import { CurrencyMismatchError, DivisionByZeroError } from './money.errors';

/** JSON shape of a Money: amount as a full-precision decimal string (never a JS number). */
export interface MoneyJson {
  amount: string;
  currency: CurrencyCode;
}

/**
 * An immutable amount of one currency, held at full precision.
 *
 * Arithmetic never rounds to the minor unit: rating multiplies tiny quantities by unit prices
 * and rounding each of those would drift. Rounding happens once, at invoice line level, via
 * `roundToMinor()` / `toMinorUnits()` / `toFixed()`.
 *
 * Rounding is half-up in the sense of "ties away from zero": 0.005 → 0.01 and
 * -0.005 → -0.01, so a negative adjustment is the exact mirror of the charge it reverses.
 */
export class Money {
  private constructor(
    readonly amount: Decimal,
    readonly currency: CurrencyCode,
  ) {}

  /** Money from a Decimal, a strict decimal string or a bigint; validates the currency. */
  static of(amount: DecimalLike, currency: string): Money {
    return new Money(toDecimal(amount), assertCurrency(currency));
  }

  /** Strict parse of a decimal string, e.g. from an API body or a NUMERIC column. */
  static parse(amount: string, currency: string): Money {
    return new Money(parseDecimal(amount), assertCurrency(currency));
  }

  static zero(currency: string): Money {
    return new Money(new Decimal(0), assertCurrency(currency));
  }

  /** Money from an integer count of minor units, e.g. 1230n cents → 12.30 EUR. */
  static fromMinorUnits(units: bigint, currency: string): Money {
    const code = assertCurrency(currency);
    return new Money(new Decimal(units.toString()).div(scaleOf(code)), code);
  }

  static fromJSON(json: MoneyJson): Money {
    return Money.parse(json.amount, json.currency);
  }

  add(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.amount.plus(other.amount), this.currency);
  }

  subtract(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.amount.minus(other.amount), this.currency);
  }

  /** Price × quantity, e.g. a per-GiB-hour price times GiB-hours. Not rounded. */
  multiply(factor: DecimalLike): Money {
    return new Money(this.amount.times(toDecimal(factor)), this.currency);
  }

  /** Exact to 50 significant digits; used for proportional splits. Not rounded. */
  divide(divisor: DecimalLike): Money {
    const d = toDecimal(divisor);
    if (d.isZero()) {
      throw new DivisionByZeroError();
    }
    return new Money(this.amount.div(d), this.currency);
  }

  negate(): Money {
    return new Money(this.amount.negated(), this.currency);
  }

  abs(): Money {
    return new Money(this.amount.abs(), this.currency);
  }

  /** -1, 0 or 1; throws CurrencyMismatchError for different currencies. */
  compareTo(other: Money): -1 | 0 | 1 {
    this.assertSameCurrency(other);
    return this.amount.comparedTo(other.amount) as -1 | 0 | 1;
  }

  /** Value equality: same currency and numerically equal amounts (1.5 equals 1.50). */
  equals(other: Money): boolean {
    return this.currency === other.currency && this.amount.eq(other.amount);
  }

  lessThan(other: Money): boolean {
    return this.compareTo(other) < 0;
  }

  lessThanOrEqual(other: Money): boolean {
    return this.compareTo(other) <= 0;
  }

  greaterThan(other: Money): boolean {
    return this.compareTo(other) > 0;
  }

  greaterThanOrEqual(other: Money): boolean {
    return this.compareTo(other) >= 0;
  }

  isZero(): boolean {
    return this.amount.isZero();
  }

  isNegative(): boolean {
    return this.amount.isNegative() && !this.amount.isZero();
  }

  isPositive(): boolean {
    return this.amount.isPositive() && !this.amount.isZero();
  }

  /** Rounded to the currency's minor unit, half away from zero (see the class comment). */
  roundToMinor(): Money {
    return new Money(
      this.amount.toDecimalPlaces(minorUnitsOf(this.currency), Decimal.ROUND_HALF_UP),
      this.currency,
    );
  }

  /** The rounded amount as an integer count of minor units (bigint: no 2^53 limit). */
  toMinorUnits(): bigint {
    return BigInt(this.roundToMinor().amount.times(scaleOf(this.currency)).toFixed(0));
  }

  /** Rounded, with exactly the currency's minor-unit digits: "12.30" EUR, "1235" JPY. */
  toFixed(): string {
    const rounded = this.roundToMinor().amount;
    // A negative amount that rounds to zero prints "0.00", not decimal.js's "-0.00".
    return (rounded.isZero() ? new Decimal(0) : rounded).toFixed(minorUnitsOf(this.currency));
  }

  /** The amount at full precision as a plain decimal string (no currency, no exponent). */
  toString(): string {
    return decimalToString(this.amount);
  }

  toJSON(): MoneyJson {
    return { amount: this.toString(), currency: this.currency };
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) {
      throw new CurrencyMismatchError(this.currency, other.currency);
    }
  }
}

/** Sum of amounts in one currency; the currency is explicit so an empty sum is well defined. */
export function sumMoney(items: Iterable<Money>, currency: string): Money {
  let total = Money.zero(currency);
  for (const item of items) {
    total = total.add(item);
  }
  return total;
}

function scaleOf(currency: CurrencyCode): Decimal {
  return new Decimal(10).pow(minorUnitsOf(currency));
}
