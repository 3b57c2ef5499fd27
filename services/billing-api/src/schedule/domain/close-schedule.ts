/**
 * Which months the scheduled close looks at: the `lookbackMonths` months before the current one
 * (by UTC), oldest first, none before `fromPeriod`. Whether each is due (its end in the last
 * tenant zone plus the grace has passed) is the close service's closableFrom. Pure.
 */
export function candidatePeriods(
  nowMs: number,
  lookbackMonths: number,
  fromPeriod: string | null,
): string[] {
  const now = new Date(nowMs);
  const periods: string[] = [];
  for (let back = lookbackMonths; back >= 1; back--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    const period = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    if (fromPeriod === null || period >= fromPeriod) periods.push(period);
  }
  return periods;
}

export type PeriodPhase = 'open' | 'in-grace' | 'due';

/** A month is open until its end (in the last zone), in grace until closable, then due. */
export function periodPhase(nowMs: number, closableFromMs: number, graceMs: number): PeriodPhase {
  if (nowMs >= closableFromMs) return 'due';
  return nowMs >= closableFromMs - graceMs ? 'in-grace' : 'open';
}
