import { type AllocationBasis } from '@metering/pricing';
import { type AmountUnits, type CpuUnits, type MemoryUnits } from './exact-units';
import { type GraduatedTable } from './graduated-table';
import { type RatedInterval } from './rate-batch';
import { type UsageInterval } from './rate-sample';
import { type BucketSegment, type BucketUsage, bucketKey } from './usage-bucket';
import { zoneCalendar } from './zone-calendar';

/** Which plan version priced something: what a usage event names. */
export interface PlanRef {
  readonly id: string;
  readonly version: number;
}

/** A plan version ready for rating: tiers as exact tables, null meters are free. */
export interface RatingPlan extends PlanRef {
  readonly currency: string;
  readonly basis: AllocationBasis;
  readonly cpu: GraduatedTable | null;
  readonly memory: GraduatedTable | null;
}

/** What pricing needs to know about tenants; the adapter caches it from the ledger. */
export interface PricingCatalog {
  /** The plan version in effect for the tenant at an instant; null when it has none. */
  planAt(tenantId: string, atMs: number): RatingPlan | null;
  /** The currency of a tenant's (zero) amounts when it has no plan. */
  currencyOf(tenantId: string): string;
}

/**
 * A tenant's running position in a billing month: the quantity priced so far on the basis of
 * the plan that priced it, and the charges so far. Graduated tiers continue from here.
 */
export interface MonthPosition {
  readonly tenantId: string;
  /** "YYYY-MM" in the tenant's billing zone. */
  readonly period: string;
  readonly cpu: CpuUnits;
  readonly memory: MemoryUnits;
  readonly cpuAmount: AmountUnits;
  readonly memoryAmount: AmountUnits;
}

export const positionKey = (tenantId: string, period: string): string =>
  `${tenantId}\u0000${period}`;

export function emptyPosition(tenantId: string, period: string): MonthPosition {
  return { tenantId, period, cpu: 0n, memory: 0n, cpuAmount: 0n, memoryAmount: 0n };
}

/**
 * The priced usage of one rated interval within one billing month under one plan version: what a
 * `billing.usage.v1` event carries. An interval that crosses a month edge (or a plan change)
 * yields one per part, so every event belongs to exactly one invoice.
 */
export interface PricedUsage {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly instanceId: string;
  /** [fromMs, toMs), toMs > fromMs; an instant (no duration) is the millisecond it happened in. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly period: string;
  /** null: the tenant had no plan; the amounts are zero in `currency`. */
  readonly plan: PlanRef | null;
  readonly currency: string;
  readonly basis: AllocationBasis;
  /** Usage (the `usage` basis), whatever the plan's basis. */
  readonly cpuUsage: CpuUnits;
  readonly memoryUsage: MemoryUnits;
  /** The quantities priced, on the plan's basis. */
  readonly cpuPriced: CpuUnits;
  readonly memoryPriced: MemoryUnits;
  readonly cpuAmount: AmountUnits;
  readonly memoryAmount: AmountUnits;
  readonly gap: boolean;
}

/** What pricing reads of a rated interval: whose usage it is, and its bucket segments. */
export interface PricedSegments {
  readonly interval: Pick<
    UsageInterval,
    'tenantId' | 'resourceKind' | 'resourceId' | 'instanceId' | 'gap'
  >;
  readonly segments: readonly BucketSegment[];
}

/** A rated interval's segments with the plan and month of each. */
export interface PlannedInterval {
  readonly rated: PricedSegments;
  readonly plans: readonly (RatingPlan | null)[];
  readonly periods: readonly string[];
}

export interface PlannedBatch {
  readonly intervals: readonly PlannedInterval[];
  /** Months whose positions pricing reads and moves (tenants with a plan), sorted. */
  readonly positionKeys: readonly { tenantId: string; period: string }[];
}

/**
 * Step 1 of pricing (no positions needed yet): each bucket segment is priced by the plan version
 * in effect at the segment's start and counts in the billing month of its bucket (month edges are
 * bucket edges). Tells which month positions the batch must lock.
 */
export function planBatch(rated: readonly RatedInterval[], catalog: PricingCatalog): PlannedBatch {
  const keys = new Map<string, { tenantId: string; period: string }>();
  const intervals = rated.map((r): PlannedInterval => {
    const planned = planInterval(r, catalog);
    const tenantId = r.interval.tenantId;
    for (let i = 0; i < planned.plans.length; i++) {
      if (planned.plans[i] === null) continue;
      const period = planned.periods[i]!;
      const key = positionKey(tenantId, period);
      if (!keys.has(key)) keys.set(key, { tenantId, period });
    }
    return planned;
  });
  // A fixed order: transactions lock positions in it, so two batches cannot deadlock.
  const positionKeys = [...keys.values()].sort((a, b) =>
    a.tenantId === b.tenantId ? cmp(a.period, b.period) : cmp(a.tenantId, b.tenantId),
  );
  return { intervals, positionKeys };
}

/** One rated interval's segments with the plan version and month of each (planBatch's step). */
export function planInterval(r: RatedInterval, catalog: PricingCatalog): PlannedInterval {
  const calendar = zoneCalendar(r.timeZone);
  const tenantId = r.interval.tenantId;
  // Arrays of the segments' exact length (nearly always one): an array grown by push from empty
  // reserves 17 slots.
  const n = r.segments.length;
  const plans = new Array<RatingPlan | null>(n);
  const periods = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const s = r.segments[i]!;
    plans[i] = catalog.planAt(tenantId, s.fromMs);
    periods[i] = calendar.periodOf(s.usage.bucketStartMs);
  }
  return { rated: r, plans, periods };
}

export interface PricedBatch {
  /** In rating order: per interval, per (month, plan) run of its segments. */
  readonly usages: readonly PricedUsage[];
  /** Charges to add per bucket (bucketKey), for every bucket the batch touched. */
  readonly bucketAmounts: ReadonlyMap<string, AmountUnits>;
  /** The moved positions, by positionKey. */
  readonly positions: ReadonlyMap<string, MonthPosition>;
}

interface Working {
  cpu: CpuUnits;
  memory: MemoryUnits;
  cpuAmount: AmountUnits;
  memoryAmount: AmountUnits;
  // G at the current position, for the table that priced last: saves one evaluation per part.
  cpuTable: GraduatedTable | null;
  cpuPriceAt: AmountUnits;
  memoryTable: GraduatedTable | null;
  memoryPriceAt: AmountUnits;
}

/**
 * Step 2: prices the segments in rating order, each at its tenant's running position in the
 * month (graduated tiers), and moves the positions. `positions` must hold every key of
 * `planned.positionKeys` as read under the transaction's lock (missing: the month is new).
 * Pure; the same inputs give the same amounts, so a retried batch republishes the same events.
 */
export function priceBatch(
  planned: PlannedBatch,
  positions: ReadonlyMap<string, MonthPosition>,
  catalog: PricingCatalog,
): PricedBatch {
  const working = new Map<string, Working>();
  const bucketAmounts = new Map<string, AmountUnits>();
  const usages: PricedUsage[] = [];

  for (const { rated, plans, periods } of planned.intervals) {
    const { interval, segments } = rated;
    let run: MutableUsage | null = null;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const plan = plans[i] ?? null;
      const period = periods[i]!;
      const basis = plan?.basis ?? 'usage';
      const u = segment.usage;
      const cpuQ = cpuOnBasis(u, basis);
      const memoryQ = memoryOnBasis(u, basis);
      let cpuAmount = 0n;
      let memoryAmount = 0n;
      if (plan !== null) {
        const key = positionKey(interval.tenantId, period);
        let w = working.get(key);
        if (w === undefined) {
          const stored = positions.get(key) ?? emptyPosition(interval.tenantId, period);
          w = {
            cpu: stored.cpu,
            memory: stored.memory,
            cpuAmount: stored.cpuAmount,
            memoryAmount: stored.memoryAmount,
            cpuTable: null,
            cpuPriceAt: 0n,
            memoryTable: null,
            memoryPriceAt: 0n,
          };
          working.set(key, w);
        }
        if (plan.cpu !== null) {
          const before = w.cpuTable === plan.cpu ? w.cpuPriceAt : plan.cpu.priceAt(w.cpu);
          const after = plan.cpu.priceAt(w.cpu + cpuQ);
          cpuAmount = after - before;
          w.cpuTable = plan.cpu;
          w.cpuPriceAt = after;
        } else {
          w.cpuTable = null;
        }
        if (plan.memory !== null) {
          const before =
            w.memoryTable === plan.memory ? w.memoryPriceAt : plan.memory.priceAt(w.memory);
          const after = plan.memory.priceAt(w.memory + memoryQ);
          memoryAmount = after - before;
          w.memoryTable = plan.memory;
          w.memoryPriceAt = after;
        } else {
          w.memoryTable = null;
        }
        w.cpu += cpuQ;
        w.memory += memoryQ;
        w.cpuAmount += cpuAmount;
        w.memoryAmount += memoryAmount;
      }
      const bk = bucketKey(u);
      bucketAmounts.set(bk, (bucketAmounts.get(bk) ?? 0n) + cpuAmount + memoryAmount);

      if (run === null || run.period !== period || run.plan !== plan) {
        if (run !== null) usages.push(finish(run));
        run = {
          tenantId: interval.tenantId,
          resourceKind: interval.resourceKind,
          resourceId: interval.resourceId,
          instanceId: interval.instanceId,
          fromMs: segment.fromMs,
          toMs: segment.toMs,
          period,
          plan,
          currency: plan?.currency ?? catalog.currencyOf(interval.tenantId),
          basis,
          cpuUsage: 0n,
          memoryUsage: 0n,
          cpuPriced: 0n,
          memoryPriced: 0n,
          cpuAmount: 0n,
          memoryAmount: 0n,
          gap: interval.gap,
        };
      }
      run.toMs = segment.toMs;
      run.cpuUsage += u.cpuUsage;
      run.memoryUsage += u.memoryUsage;
      run.cpuPriced += cpuQ;
      run.memoryPriced += memoryQ;
      run.cpuAmount += cpuAmount;
      run.memoryAmount += memoryAmount;
    }
    if (run !== null) usages.push(finish(run));
  }

  const moved = new Map<string, MonthPosition>();
  for (const [key, w] of working) {
    const [tenantId, period] = key.split('\u0000') as [string, string];
    moved.set(key, {
      tenantId,
      period,
      cpu: w.cpu,
      memory: w.memory,
      cpuAmount: w.cpuAmount,
      memoryAmount: w.memoryAmount,
    });
  }
  return { usages, bucketAmounts, positions: moved };
}

type MutableUsage = { -readonly [K in keyof PricedUsage]: PricedUsage[K] };

function finish(run: MutableUsage): PricedUsage {
  // An instant has no duration; the contract wants end > start: the millisecond it happened in.
  return run.toMs > run.fromMs ? run : { ...run, toMs: run.fromMs + 1 };
}

export function cpuOnBasis(u: BucketUsage, basis: AllocationBasis): CpuUnits {
  switch (basis) {
    case 'usage':
      return u.cpuUsage;
    case 'allocation':
      return u.cpuAllocation;
    case 'max':
      return u.cpuMax;
  }
}

export function memoryOnBasis(u: BucketUsage, basis: AllocationBasis): MemoryUnits {
  switch (basis) {
    case 'usage':
      return u.memoryUsage;
    case 'allocation':
      return u.memoryAllocation;
    case 'max':
      return u.memoryMax;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
