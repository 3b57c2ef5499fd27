import { isPeriod } from '@metering/pricing';

/** The month `months` after (or before, when negative) `period`, both "YYYY-MM". */
export function shiftPeriod(period: string, months: number): string {
  if (!isPeriod(period)) throw new RangeError(`period "${period}" must be YYYY-MM`);
  const index = Number(period.slice(0, 4)) * 12 + Number(period.slice(5, 7)) - 1 + months;
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}
