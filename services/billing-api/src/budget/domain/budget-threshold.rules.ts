import { Decimal, toDecimal } from '@metering/money';

/** Thresholds per tenant: a handful of alert levels, not a ledger. */
export const MAX_THRESHOLDS_PER_TENANT = 20;
/** Digits before the point: up to 999 999 999 999 999 in any currency. */
export const MAX_THRESHOLD_INTEGER_DIGITS = 15;

export type ThresholdAmountCheck =
  { readonly ok: true; readonly amount: string } | { readonly ok: false; readonly message: string };

/**
 * A threshold amount as the API takes it: a JSON string of plain decimal digits, greater than
 * zero, with at most the currency's minor-unit digits after the point (no sign, exponent,
 * `NaN`, `Infinity`, spaces or leading zeros). Answers the canonical form with exactly the
 * currency's minor-unit digits (`"100"` in EUR → `"100.00"`), so equal amounts compare equal.
 */
export function checkThresholdAmount(value: unknown, minorUnits: number): ThresholdAmountCheck {
  const shape =
    minorUnits === 0
      ? `a decimal string without fraction digits (the currency has none), e.g. "150"`
      : `a decimal string with at most ${minorUnits} fraction digits, e.g. "150.${'0'.repeat(minorUnits)}"`;
  if (typeof value !== 'string') {
    return {
      ok: false,
      message: `must be ${shape}; got ${value === null ? 'null' : typeof value}`,
    };
  }
  const m = /^(0|[1-9]\d*)(?:\.(\d+))?$/.exec(value);
  if (m === null) return { ok: false, message: `must be ${shape}` };
  const [, integer = '', fraction = ''] = m;
  if (integer.length > MAX_THRESHOLD_INTEGER_DIGITS) {
    return {
      ok: false,
      message: `must have at most ${MAX_THRESHOLD_INTEGER_DIGITS} digits before the point`,
    };
  }
  if (fraction.length > minorUnits) return { ok: false, message: `must be ${shape}` };
  const amount = new Decimal(value);
  if (amount.lte(0)) return { ok: false, message: 'must be greater than zero' };
  return { ok: true, amount: amount.toFixed(minorUnits) };
}

export interface Threshold {
  readonly id: string;
  /** An exact decimal string. */
  readonly amount: string;
}

/**
 * The thresholds the month's amount has reached (amount ≥ threshold) that were not reached
 * before in this month (`alreadyCrossed`: their ids), lowest first (then by id). Whatever
 * order the amounts arrive in, each threshold is returned by at most one call per month as
 * long as the caller records what it returns: a threshold set below an amount already reached
 * is returned by the next call.
 */
export function newlyCrossed(
  thresholds: readonly Threshold[],
  amount: string,
  alreadyCrossed: ReadonlySet<string>,
): Threshold[] {
  const reached = toDecimal(amount);
  return thresholds
    .filter((t) => !alreadyCrossed.has(t.id) && reached.gte(toDecimal(t.amount)))
    .sort((a, b) => toDecimal(a.amount).cmp(toDecimal(b.amount)) || (a.id < b.id ? -1 : 1));
}
