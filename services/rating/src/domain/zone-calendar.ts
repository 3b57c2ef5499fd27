import { BUCKET_MS, periodBounds, periodOf, zoneOffsetMs } from '@metering/pricing';

/**
 * libs/pricing's hour buckets and billing periods, memoised: a zone's offset is read through
 * Intl (microseconds per call), which dominated the rating profile when done for every interval.
 *
 * Exactness: the offset is cached per UTC hour only when it is the same at the hour's first and
 * last millisecond. Offsets change at most once within any hour (transitions are months apart),
 * so equal ends mean it is constant across the hour; otherwise the hour is not cached.
 */
export class ZoneCalendar {
  private readonly fractions = new Map<number, number>();
  private periodStartMs = Number.NaN;
  private periodEndMs = Number.NaN;
  private period = '';

  constructor(readonly timeZone: string) {}

  /** Same as libs/pricing's hourBucketStart(timeZone, atMs). */
  hourBucketStart(atMs: number): number {
    const fraction = this.fractionAt(atMs);
    return Math.floor((atMs + fraction) / BUCKET_MS) * BUCKET_MS - fraction;
  }

  /** Same as libs/pricing's periodOf(atMs, timeZone). */
  periodOf(atMs: number): string {
    if (atMs >= this.periodStartMs && atMs < this.periodEndMs) return this.period;
    const period = periodOf(atMs, this.timeZone);
    const bounds = periodBounds(period, this.timeZone);
    this.period = period;
    this.periodStartMs = bounds.startMs;
    this.periodEndMs = bounds.endMs;
    return period;
  }

  private fractionAt(atMs: number): number {
    const hour = Math.floor(atMs / BUCKET_MS);
    const cached = this.fractions.get(hour);
    if (cached !== undefined) return cached;
    const offset = zoneOffsetMs(this.timeZone, atMs);
    const fraction = mod(offset, BUCKET_MS);
    const first = hour * BUCKET_MS;
    if (
      zoneOffsetMs(this.timeZone, first) === offset &&
      zoneOffsetMs(this.timeZone, first + BUCKET_MS - 1) === offset
    ) {
      if (this.fractions.size > 50_000) this.fractions.clear();
      this.fractions.set(hour, fraction);
    }
    return fraction;
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

const calendars = new Map<string, ZoneCalendar>();

/** One memoised calendar per zone, shared by the process (zones are few). */
export function zoneCalendar(timeZone: string): ZoneCalendar {
  let calendar = calendars.get(timeZone);
  if (calendar === undefined) {
    calendar = new ZoneCalendar(timeZone);
    calendars.set(timeZone, calendar);
  }
  return calendar;
}
