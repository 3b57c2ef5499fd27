import { ValidateBy, type ValidationOptions } from 'class-validator';
import { isKnownCurrency } from '@metering/money';
import { isPeriod, isValidTimeZone } from '@metering/pricing';

/** Plain decimal strings with bounded size: absurd magnitudes are refused at the edge. */
export const DECIMAL_PATTERN = /^-?\d{1,18}(?:\.\d{1,18})?$/;
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Groups: year, month, day, hour, minute, second, zone hours, zone minutes. */
const INSTANT_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
/** Instants the API accepts: 1970 to 2200 (anything else is a typo or an attack). */
const MIN_INSTANT_MS = 0;
const MAX_INSTANT_MS = Date.UTC(2200, 0, 1);
/** Periods the API accepts: the months of those years. */
export const MIN_PERIOD = '1970-01';
export const MAX_PERIOD = '2199-12';
export const PERIOD_MESSAGE = 'must be a month "YYYY-MM" from 1970-01 to 2199-12, e.g. "2026-11"';

export function isDecimalString(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL_PATTERN.test(value);
}

/**
 * An ISO 8601 instant with a zone that names a real time: Date.parse alone would take
 * 2026-02-31 for 3 March and 24:00 for the next day, so every field is checked against the
 * calendar first.
 */
export function isInstant(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = INSTANT_PATTERN.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, zoneHour, zoneMinute] = m
    .slice(1)
    .map((g) => (g === undefined ? 0 : Number(g))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59 || zoneHour > 23 || zoneMinute > 59) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms < MAX_INSTANT_MS;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A month "YYYY-MM" within the supported years (periodBounds is exact for all of them). */
export function isSupportedPeriod(value: unknown): value is string {
  return typeof value === 'string' && isPeriod(value) && value >= MIN_PERIOD && value <= MAX_PERIOD;
}

export function isZoneName(value: unknown): value is string {
  return typeof value === 'string' && ZONE_PATTERN.test(value) && isValidTimeZone(value);
}

export function IsDecimalString(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDecimalString',
      validator: {
        validate: (value) => isDecimalString(value),
        defaultMessage: () => 'must be a decimal string such as "0.040" (at most 18+18 digits)',
      },
    },
    options,
  );
}

/** A decimal string or null (an unbounded tier). */
export function IsDecimalStringOrNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDecimalStringOrNull',
      validator: {
        validate: (value) => value === null || isDecimalString(value),
        defaultMessage: () => 'must be a decimal string such as "100", or null for no upper bound',
      },
    },
    options,
  );
}

export function IsInstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: {
        validate: (value) => isInstant(value),
        defaultMessage: () =>
          'must be an ISO 8601 instant with a zone, e.g. "2026-10-01T00:00:00Z" (years 1970-2199)',
      },
    },
    options,
  );
}

export function IsIanaZone(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIanaZone',
      validator: {
        validate: (value) => isZoneName(value),
        defaultMessage: () => 'must be an IANA time zone such as "Europe/Paris" or "UTC"',
      },
    },
    options,
  );
}

export function IsCurrencyCode(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isCurrencyCode',
      validator: {
        validate: (value) => typeof value === 'string' && isKnownCurrency(value),
        defaultMessage: () => 'must be an ISO 4217 code such as "EUR"',
      },
    },
    options,
  );
}

export function IsPeriod(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPeriod',
      validator: {
        validate: (value) => isSupportedPeriod(value),
        defaultMessage: () => PERIOD_MESSAGE,
      },
    },
    options,
  );
}
