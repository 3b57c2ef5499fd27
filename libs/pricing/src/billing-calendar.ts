const HOUR_MS = 3_600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone: callers validate zones at the edge.
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's UTC offset at an instant, in milliseconds (e.g. +19 800 000 for Asia/Kolkata). */
export function zoneOffsetMs(timeZone: string, atMs: number): number {
  const name = formatterFor(timeZone)
    .formatToParts(atMs)
    .find((p) => p.type === 'timeZoneName')?.value;
  // "GMT", "GMT+05:30", "GMT-03:30", "GMT+05:45"
  const m = name === undefined ? null : /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (m === null) throw new RangeError(`cannot read the UTC offset of ${timeZone}`);
  if (m[1] === undefined) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return (m[1] === '-' ? -1 : 1) * minutes * 60_000;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start of the hour bucket holding `atMs`, aligned to the zone's local hours. In zones whose
 * offset is a whole number of hours this is the UTC hour; in Asia/Kolkata (+05:30) buckets start
 * at :30 UTC, so a local day or month splits exactly on bucket edges in every zone.
 */
export function hourBucketStart(timeZone: string, atMs: number): number {
  const fraction = mod(zoneOffsetMs(timeZone, atMs), HOUR_MS);
  return Math.floor((atMs + fraction) / HOUR_MS) * HOUR_MS - fraction;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

export const BUCKET_MS = HOUR_MS;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** A billing period: a calendar month, "YYYY-MM". */
export function isPeriod(text: string): boolean {
  return PERIOD.test(text);
}

/** The instant at which a local wall-clock time happens in the zone (the first, if it repeats). */
export function zonedTimeToUtc(timeZone: string, y: number, m: number, d: number, h = 0): number {
  const wall = Date.UTC(y, m - 1, d, h);
  // Two rounds settle any offset, including a DST change between the guess and the answer.
  let guess = wall - zoneOffsetMs(timeZone, wall);
  guess = wall - zoneOffsetMs(timeZone, guess);
  return guess;
}

/**
 * The period's bounds in the tenant's zone: [local midnight of the 1st, local midnight of the
 * next 1st), as UTC epoch milliseconds. Hour buckets align to the same local hours, so a month
 * is always a whole number of buckets.
 */
export function periodBounds(period: string, timeZone: string): { startMs: number; endMs: number } {
  const match = PERIOD.exec(period);
  if (match === null) throw new RangeError(`period "${period}" must be YYYY-MM`);
  const y = Number(match[1]);
  const m = Number(match[2]);
  const next = m === 12 ? { y: y + 1, m: 1 } : { y, m: m + 1 };
  return {
    startMs: zonedTimeToUtc(timeZone, y, m, 1),
    endMs: zonedTimeToUtc(timeZone, next.y, next.m, 1),
  };
}

/** The period ("YYYY-MM") holding an instant, in the zone. */
export function periodOf(atMs: number, timeZone: string): string {
  const local = new Date(atMs + zoneOffsetMs(timeZone, atMs));
  return `${local.getUTCFullYear()}-${String(local.getUTCMonth() + 1).padStart(2, '0')}`;
}
