import { Decimal, Money } from '@metering/money';

/** Below this much elapsed time a run-rate says nothing (the ledger holds whole hour buckets). */
export const MIN_FORECAST_ELAPSED_MS = 3_600_000;

export const FORECAST_METHOD = 'linear-run-rate';

export interface ForecastInput {
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  /** The instant the figures to date run up to. */
  readonly atMs: number;
  readonly currency: string;
  /** Usage charges from the period's start to `atMs` (a decimal string in `currency`). */
  readonly amountToDate: string;
  readonly cpuCoreHoursToDate: string;
  readonly memoryGibHoursToDate: string;
  /** The minimum commitment the month's invoice will hold (prorated over its plans), or "0". */
  readonly minimumCommitment: string;
}

export interface MonthEndForecast {
  readonly method: typeof FORECAST_METHOD;
  /** Elapsed share of the period at `atMs`, 0…1, 6 decimals (rounded down). */
  readonly elapsedShare: string;
  /** Usage charges at the month's end at today's rate; null before an hour has elapsed. */
  readonly usageAmount: string | null;
  /** `usageAmount` raised to the minimum commitment: what the usage lines and the minimum bill. */
  readonly amount: string | null;
  readonly cpuCoreHours: string | null;
  readonly memoryGibHours: string | null;
}

/**
 * A forecast of the month's end, not a figure of the ledger: each figure to date divided by the
 * elapsed share of the period (a linear run-rate). Graduated tiers make later hours cheaper or
 * dearer, so the amount is the run-rate of what was charged so far, not a price of a forecast
 * quantity. Pure; exact decimals (amounts rounded half-up to the currency's minor unit,
 * quantities to 6 decimals). At or after the period's end the figures to date are the answer.
 */
export function forecastMonthEnd(input: ForecastInput): MonthEndForecast {
  const lengthMs = input.periodEndMs - input.periodStartMs;
  if (!(lengthMs > 0) || !Number.isFinite(input.atMs)) {
    throw new RangeError('forecastMonthEnd: the period must be a non-empty range and at finite');
  }
  const elapsedMs = Math.min(Math.max(input.atMs - input.periodStartMs, 0), lengthMs);
  const share = new Decimal(elapsedMs).div(lengthMs);
  const elapsedShare = share.toDecimalPlaces(6, Decimal.ROUND_DOWN).toFixed(6);
  if (elapsedMs < Math.min(MIN_FORECAST_ELAPSED_MS, lengthMs)) {
    return {
      method: FORECAST_METHOD,
      elapsedShare,
      usageAmount: null,
      amount: null,
      cpuCoreHours: null,
      memoryGibHours: null,
    };
  }
  const extrapolate = (toDate: string): Decimal => new Decimal(toDate).div(share);
  const usage = Money.of(extrapolate(input.amountToDate), input.currency);
  const minimum = Money.of(new Decimal(input.minimumCommitment), input.currency);
  const quantity = (toDate: string): string =>
    extrapolate(toDate).toDecimalPlaces(6, Decimal.ROUND_HALF_UP).toFixed();
  return {
    method: FORECAST_METHOD,
    elapsedShare,
    usageAmount: usage.toFixed(),
    amount: (usage.lessThan(minimum) ? minimum : usage).toFixed(),
    cpuCoreHours: quantity(input.cpuCoreHoursToDate),
    memoryGibHours: quantity(input.memoryGibHoursToDate),
  };
}
