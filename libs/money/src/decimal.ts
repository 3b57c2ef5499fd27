import { Decimal as DecimalJs } from 'decimal.js';
import { InvalidDecimalError } from './money.errors';

/**
 * The one Decimal constructor every money and quantity computation goes through.
 *
 * A private clone, so the library-wide defaults of decimal.js (shared with any other package
 * in the process) are never mutated. Settings:
 * - precision 50 significant digits: exact for every conversion rating does. Dividing by 2^30
 *   (bytes → GiB) multiplies the significant digits by 5^30, which has 21 digits, so a 29-digit
 *   byte-second figure still converts exactly. Only division by 3600 (seconds → hours) is
 *   inexact, and its error (< 1e-49 relative) is far below any currency's minor unit.
 * - ROUND_HALF_UP: decimal.js rounds ties away from zero, i.e. 0.005 → 0.01 and -0.005 → -0.01.
 * - toExpNeg/toExpPos at their limits: toString() never switches to exponent notation, so a
 *   string is always fit for a NUMERIC column or a JSON decimal string.
 *
 * Arithmetic on a decimal.js instance uses the settings of the constructor that created it,
 * so values from elsewhere must be re-wrapped with `toDecimal` before use.
 */
export const Decimal = DecimalJs.clone({
  precision: 50,
  rounding: DecimalJs.ROUND_HALF_UP,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});
export type Decimal = DecimalJs;

/** What the public API accepts as a decimal: a Decimal, a decimal string, or a bigint. */
export type DecimalLike = Decimal | string | bigint;

// Optional minus sign, at least one digit, optional fraction with at least one digit.
// No '+', no exponent, no whitespace, no leading or trailing dot, no NaN or Infinity.
const DECIMAL_PATTERN = /^-?\d+(?:\.\d+)?$/;

/** Parses a plain decimal string strictly; throws InvalidDecimalError otherwise. */
export function parseDecimal(input: string): Decimal {
  // Runtime guard: callers on the edges may hand over whatever JSON.parse produced.
  if (typeof input !== 'string' || !DECIMAL_PATTERN.test(input)) {
    throw new InvalidDecimalError(String(input));
  }
  return normalizeZero(new Decimal(input));
}

/** Converts a DecimalLike to a finite Decimal of this library's configuration. */
export function toDecimal(value: DecimalLike): Decimal {
  if (typeof value === 'string') {
    return parseDecimal(value);
  }
  if (typeof value === 'bigint') {
    return new Decimal(value.toString());
  }
  if (!DecimalJs.isDecimal(value) || !value.isFinite()) {
    throw new InvalidDecimalError(String(value));
  }
  return normalizeZero(new Decimal(value));
}

/** Plain decimal string at full precision, never in exponent notation, never "-0". */
export function decimalToString(value: Decimal): string {
  return normalizeZero(new Decimal(value)).toString();
}

// decimal.js keeps the sign of zero ("-0.00" from toFixed); a negative zero amount is noise.
function normalizeZero(value: Decimal): Decimal {
  return value.isZero() && value.isNegative() ? value.abs() : value;
}
