import { periodBounds, zoneOffsetMs, zonedTimeToUtc } from '@metering/pricing';

/**
 * The same point of the previous month: the same local day and time of day in the tenant's
 * zone, one month earlier. A day the previous month does not have (the 31st after a 30-day
 * month, 29–31 March after February) is its end. Never after the previous month's end, never
 * before its start. `period` is the month holding `atMs` in the zone.
 */
export function samePointLastMonth(atMs: number, timeZone: string, previousPeriod: string): number {
  const { startMs, endMs } = periodBounds(previousPeriod, timeZone);
  const local = new Date(atMs + zoneOffsetMs(timeZone, atMs));
  const day = local.getUTCDate();
  const y = Number(previousPeriod.slice(0, 4));
  const m = Number(previousPeriod.slice(5, 7));
  const daysInPrevious = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (day > daysInPrevious) return endMs;
  const withinHourMs =
    local.getUTCMinutes() * 60_000 + local.getUTCSeconds() * 1000 + local.getUTCMilliseconds();
  const point = zonedTimeToUtc(timeZone, y, m, day, local.getUTCHours()) + withinHourMs;
  return Math.min(Math.max(point, startMs), endMs);
}
