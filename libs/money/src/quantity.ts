import { Decimal, type DecimalLike, toDecimal } from './decimal';

/**
 * Unit conversions used by rating. All are exact decimals except `secondsToHours`
 * (1/3600 has no finite decimal expansion; it is correct to 50 significant digits).
 * To keep even that error out of amounts, price per second-based quantity and divide last:
 * `price.multiply(gibSeconds).divide(SECONDS_PER_HOUR)`.
 */
export const NANOSECONDS_PER_SECOND = new Decimal('1000000000');
export const MILLISECONDS_PER_SECOND = new Decimal('1000');
export const SECONDS_PER_HOUR = new Decimal('3600');
/** GiB = 2^30 bytes (product.md), not GB = 10^9. */
export const BYTES_PER_GIB = new Decimal(2).pow(30);

/** Cumulative CPU nanoseconds (a decimal string or bigint: may exceed 2^53) → core-seconds. */
export function nanosecondsToCoreSeconds(ns: DecimalLike): Decimal {
  return toDecimal(ns).div(NANOSECONDS_PER_SECOND);
}

export function millisecondsToSeconds(ms: DecimalLike): Decimal {
  return toDecimal(ms).div(MILLISECONDS_PER_SECOND);
}

export function bytesToGib(bytes: DecimalLike): Decimal {
  return toDecimal(bytes).div(BYTES_PER_GIB);
}

/** Memory integral: byte-seconds → GiB-seconds. */
export function byteSecondsToGibSeconds(byteSeconds: DecimalLike): Decimal {
  return toDecimal(byteSeconds).div(BYTES_PER_GIB);
}

/** Seconds → hours, e.g. core-seconds → vCPU-hours, GiB-seconds → GiB-hours. */
export function secondsToHours(seconds: DecimalLike): Decimal {
  return toDecimal(seconds).div(SECONDS_PER_HOUR);
}

export function hoursToSeconds(hours: DecimalLike): Decimal {
  return toDecimal(hours).times(SECONDS_PER_HOUR);
}

/** Sum of decimals at full precision; the empty sum is 0. */
export function sumDecimals(values: Iterable<DecimalLike>): Decimal {
  let total = new Decimal(0);
  for (const value of values) {
    total = total.plus(toDecimal(value));
  }
  return total;
}
