/**
 * Times in the tenant's billing time zone and quantities as the API gives them (exact decimal
 * strings). Money is shown as the API's decimal string: never through a binary float.
 */

const HOUR = 3600;

/** Unit-seconds (a decimal string) as unit-hours with `digits` decimals. */
export function hours(seconds: string, digits = 4): string {
  return (Number(seconds) / HOUR).toFixed(digits);
}

/** Unit-seconds as a number of unit-hours, for charts. */
export function hoursValue(seconds: string): number {
  return Number(seconds) / HOUR;
}

/** An amount (decimal string) in a currency, grouped as the browser's locale does. */
export function money(amount: string, currency: string): string {
  try {
    // Intl formats a decimal string exactly (no float in between).
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    return format.format(amount as Intl.StringNumericLiteral);
  } catch {
    return `${amount} ${currency}`;
  }
}

function parts(instant: Date, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  for (const p of format.formatToParts(instant)) out[p.type] = p.value;
  return out;
}

/** `2026-11-03 14:00` in the zone. */
export function localDateTime(iso: string, timeZone: string): string {
  const p = parts(new Date(iso), timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** `2026-11-03` in the zone. */
export function localDate(iso: string, timeZone: string): string {
  const p = parts(new Date(iso), timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The instant at which the local day `date` (YYYY-MM-DD) starts in the zone. */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  // Guess UTC midnight, then correct by the zone's offset (twice, for days that change it).
  let guess = Date.UTC(y, m - 1, d);
  for (let i = 0; i < 2; i += 1) {
    const p = parts(new Date(guess), timeZone);
    const shown = Date.UTC(
      Number(p.year),
      Number(p.month) - 1,
      Number(p.day),
      Number(p.hour),
      Number(p.minute),
      Number(p.second),
    );
    guess -= shown - Date.UTC(y, m - 1, d);
  }
  return new Date(guess);
}

/** The local date `days` after `date`. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Today's date in the zone. */
export function today(timeZone: string, now = new Date()): string {
  return localDate(now.toISOString(), timeZone);
}

/** A period `2026-11` as `November 2026`. */
export function periodName(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat('en', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, 1)),
  );
}

/** A ratio `0.9987` as `99.87 %`. */
export function percent(ratio: string | null | undefined): string {
  if (ratio === null || ratio === undefined) return 'not known yet';
  return `${(Number(ratio) * 100).toFixed(2)} %`;
}
