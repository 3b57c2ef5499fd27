import { type AmountUnits } from './exact-units';
import {
  type MonthPosition,
  type PlannedInterval,
  type PricingCatalog,
  type RatingPlan,
  positionKey,
  priceBatch,
} from './price-batch';
import { type BucketUsage, bucketKey } from './usage-bucket';
import { zoneCalendar } from './zone-calendar';

const HOUR_MS = 3_600_000;

export interface RepricedMonth {
  /** The charges of every bucket of the month, by bucketKey (0 where no plan priced it). */
  readonly amounts: ReadonlyMap<string, AmountUnits>;
  /** The tenant's position after these buckets; null when no plan priced any of them yet. */
  readonly position: MonthPosition | null;
}

/**
 * Prices a tenant's billing month again from its buckets, after its plan assignments changed
 * (a plan assigned with an effective date in the past): the buckets in time order (resource id
 * within an hour), each wholly priced by the plan the invoice gives it — the assignment in effect
 * at the end of the bucket's hour, since assignments are truncated to the tenant's hour
 * (billing-api's plan-segments) — from an empty position. The month's charges then equal the
 * draft invoice's before rounding: per meter, the graduated price of each plan's quantities,
 * continuing the month's position across plan versions.
 *
 * `buckets` must be the tenant's buckets of `period` (in `timeZone`); the order they come in
 * does not matter. A large month goes in pages, in time order (then resource id): each page
 * continues from the position the previous one returned (`from`), and the pages together price
 * exactly as the whole month at once.
 */
export function repriceMonth(
  buckets: readonly BucketUsage[],
  tenantId: string,
  period: string,
  timeZone: string,
  catalog: PricingCatalog,
  from: MonthPosition | null = null,
): RepricedMonth {
  const calendar = zoneCalendar(timeZone);
  const sorted = [...buckets].sort((a, b) =>
    a.bucketStartMs === b.bucketStartMs
      ? a.resourceId < b.resourceId
        ? -1
        : a.resourceId > b.resourceId
          ? 1
          : 0
      : a.bucketStartMs - b.bucketStartMs,
  );
  const intervals: PlannedInterval[] = [];
  let priced = false;
  for (const b of sorted) {
    if (b.tenantId !== tenantId || calendar.periodOf(b.bucketStartMs) !== period) {
      throw new RangeError(`bucket ${bucketKey(b)} is not of ${tenantId} in ${period}`);
    }
    const plan: RatingPlan | null = catalog.planAt(tenantId, b.bucketStartMs + HOUR_MS - 1);
    priced ||= plan !== null;
    intervals.push({
      rated: {
        interval: {
          tenantId,
          resourceKind: b.resourceKind,
          resourceId: b.resourceId,
          instanceId: '',
          gap: false,
        },
        segments: [{ usage: b, fromMs: b.bucketStartMs, toMs: b.bucketStartMs + HOUR_MS }],
      },
      plans: [plan],
      periods: [period],
    });
  }
  const key = positionKey(tenantId, period);
  const result = priceBatch(
    { intervals, positionKeys: priced ? [{ tenantId, period }] : [] },
    from === null ? new Map() : new Map([[key, from]]),
    catalog,
  );
  return { amounts: result.bucketAmounts, position: result.positions.get(key) ?? from };
}
