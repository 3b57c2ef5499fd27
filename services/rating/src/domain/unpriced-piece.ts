import { type CpuUnits, type MemoryUnits } from './exact-units';
import { type InstanceState, instanceKey } from './metered-sample';
import {
  type MonthPosition,
  type PlannedBatch,
  type PlannedInterval,
  type PricedSegments,
  type PricedUsage,
  type PricingCatalog,
  type RatingPlan,
  emptyPosition,
  planInterval,
  positionKey,
  priceBatch,
} from './price-batch';
import { type RatedInterval } from './rate-batch';
import { type BucketUsage, emptyBucket } from './usage-bucket';
import { type UsageWindowRules, windowStart, windowUsages } from './usage-window';
import { zoneCalendar } from './zone-calendar';

/** A piece's usage inside one bucket, with its own time span (a folded bucket segment). */
export interface PiecePart {
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucketStartMs: number;
  readonly cpuUsage: CpuUnits;
  readonly cpuAllocation: CpuUnits;
  readonly cpuMax: CpuUnits;
  readonly memoryUsage: MemoryUnits;
  readonly memoryAllocation: MemoryUnits;
  readonly memoryMax: MemoryUnits;
}

/**
 * Usage the rating batch committed as quantities and left to the pricing stage
 * (docs/adr/0014-rating-scale-out.md): an instance's planned segments of one month and one plan,
 * folded while they would join one usage window anyway, with their quantities on the three bases
 * per bucket. `final`: the instance's final sample ends it, so its open window closes after it
 * (a piece without parts only says that).
 */
export interface UnpricedPiece {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly instanceId: string;
  /** "YYYY-MM" in the tenant's billing zone: the month whose lease prices it. */
  readonly period: string;
  readonly gap: boolean;
  readonly final: boolean;
  /** In time order, one per bucket. */
  readonly parts: readonly PiecePart[];
}

/** A part the fold made and still adds to (never shared before `finish`). */
type MutablePart = { -readonly [K in keyof PiecePart]: PiecePart[K] };

type MutablePiece = { -readonly [K in keyof UnpricedPiece]: UnpricedPiece[K] } & {
  parts: MutablePart[];
  plan: RatingPlan | null;
  fromMs: number;
  toMs: number;
};

/**
 * The batch's unpriced pieces, in rating order (a piece where its first segment was rated): per
 * rated interval, one per run of segments in one month under one plan (as priceBatch makes its
 * usages), and a run joins the instance's previous piece when windowUsages would join them into
 * one window anyway — same aligned window, month, plan, neither a gap, the piece not ending its
 * window — so the pieces, priced in order and gathered into windows, give the same events as the
 * runs would, and a batch writes pieces per instance and window, not per sample. `finalStates`
 * (instances whose final sample the batch rated) mark their last piece final, or add a piece
 * without parts in the month `periodOf` names.
 */
export function unpricedPieces(
  planned: PlannedBatch,
  rules: UsageWindowRules,
  finalStates: Iterable<InstanceState>,
  periodOf: (state: InstanceState) => string,
): UnpricedPiece[] {
  const fold = new PieceFold(rules);
  for (const interval of planned.intervals) fold.add(interval);
  return fold.finish(finalStates, periodOf);
}

/**
 * unpricedPieces one planned interval at a time (in rating order), so a batch need not keep its
 * planned intervals: what it keeps is the pieces, per instance and window.
 */
export class PieceFold {
  private readonly windowMs: number;
  private readonly pieces: MutablePiece[] = [];
  /** Each instance's latest piece, by instanceKey. */
  private readonly last = new Map<string, MutablePiece>();

  constructor(rules: UsageWindowRules) {
    this.windowMs = rules.windowMs;
  }

  add({ rated, plans, periods }: PlannedInterval, key = instanceKey(rated.interval)): void {
    const { interval, segments } = rated;
    if (
      segments.length === 1 &&
      this.joinLatest(this.last.get(key), rated, plans[0] ?? null, periods[0]!)
    )
      return;
    let run: MutablePiece | null = null;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const plan = plans[i] ?? null;
      const period = periods[i]!;
      if (run === null || run.period !== period || run.plan !== plan) {
        if (run !== null) this.place(key, run);
        run = {
          tenantId: interval.tenantId,
          resourceKind: interval.resourceKind,
          resourceId: interval.resourceId,
          instanceId: interval.instanceId,
          period,
          gap: interval.gap,
          final: false,
          parts: [],
          plan,
          fromMs: segment.fromMs,
          toMs: segment.toMs,
        };
      }
      run.toMs = segment.toMs;
      addPart(run.parts, segment.fromMs, segment.toMs, segment.usage);
    }
    if (run !== null) this.place(key, run);
  }

  /**
   * add(planInterval(rated, catalog), key) without the planned interval and its two arrays when
   * the interval is one segment joining the instance's latest piece (nearly every sample of a
   * batch): its plan and month looked up as planInterval does, then added as add adds it.
   */
  addRated(rated: RatedInterval, catalog: PricingCatalog, key: string): void {
    const previous = this.last.get(key);
    if (rated.segments.length === 1 && previous !== undefined) {
      const segment = rated.segments[0]!;
      const plan = catalog.planAt(rated.interval.tenantId, segment.fromMs) ?? null;
      const period = zoneCalendar(rated.timeZone).periodOf(segment.usage.bucketStartMs);
      if (this.joinLatest(previous, rated, plan, period)) return;
    }
    this.add(planInterval(rated, catalog), key);
  }

  /**
   * The common case, an interval of one segment joining the instance's latest piece (under
   * `plan`, in `period`): added to it as it is, without a run of its own (the same decision
   * `place` makes for a run of one segment). false, nothing added, when it does not join.
   */
  private joinLatest(
    previous: MutablePiece | undefined,
    { interval, segments }: PricedSegments,
    plan: RatingPlan | null,
    period: string,
  ): boolean {
    const segment = segments[0]!;
    if (
      previous === undefined ||
      !folds(previous, segment.fromMs, interval.gap, interval.tenantId, period, plan, this.windowMs)
    )
      return false;
    addPart(previous.parts, segment.fromMs, segment.toMs, segment.usage);
    previous.toMs = Math.max(previous.toMs, segment.toMs);
    return true;
  }

  /** The pieces, in rating order, with `finalStates` marking (or adding) the final ones. */
  finish(
    finalStates: Iterable<InstanceState>,
    periodOf: (state: InstanceState) => string,
  ): UnpricedPiece[] {
    const { pieces, last } = this;
    for (const state of finalStates) {
      if (!state.final) continue;
      const piece = last.get(instanceKey(state));
      if (piece !== undefined) piece.final = true;
      else
        pieces.push({
          tenantId: state.tenantId,
          resourceKind: state.resourceKind,
          resourceId: state.resourceId,
          instanceId: state.instanceId,
          period: periodOf(state),
          gap: false,
          final: true,
          parts: [],
          plan: null,
          fromMs: state.lastObservedAtMs,
          toMs: state.lastObservedAtMs,
        });
    }
    return pieces.map((p): UnpricedPiece => ({
      tenantId: p.tenantId,
      resourceKind: p.resourceKind,
      resourceId: p.resourceId,
      instanceId: p.instanceId,
      period: p.period,
      gap: p.gap,
      final: p.final,
      parts: p.parts,
    }));
  }

  private place(key: string, r: MutablePiece): void {
    const previous = this.last.get(key);
    if (
      previous !== undefined &&
      folds(previous, r.fromMs, r.gap, r.tenantId, r.period, r.plan, this.windowMs)
    ) {
      for (const p of r.parts) addPart(previous.parts, p.fromMs, p.toMs, p);
      previous.toMs = Math.max(previous.toMs, r.toMs);
      return;
    }
    this.pieces.push(r);
    this.last.set(key, r);
  }
}

/**
 * Whether a run starting at `fromMs` (its gap, tenant, month and plan) joins `piece`'s window in
 * windowUsages whatever came before (see above).
 */
function folds(
  piece: MutablePiece,
  fromMs: number,
  gap: boolean,
  tenantId: string,
  period: string,
  plan: RatingPlan | null,
  windowMs: number,
): boolean {
  if (windowMs <= 0 || piece.gap || gap || piece.final) return false;
  const start = windowStart(piece.fromMs, windowMs);
  // An instant counts as its millisecond (priceBatch's usages end after they start).
  const end = piece.toMs > piece.fromMs ? piece.toMs : piece.fromMs + 1;
  return (
    end < start + windowMs &&
    fromMs >= piece.fromMs &&
    windowStart(fromMs, windowMs) === start &&
    tenantId === piece.tenantId &&
    period === piece.period &&
    plan === piece.plan
  );
}

/** Adds to the last part when it is of the same bucket (in place: the fold's own), or appends. */
function addPart(
  parts: MutablePart[],
  fromMs: number,
  toMs: number,
  u: Pick<
    BucketUsage,
    | 'bucketStartMs'
    | 'cpuUsage'
    | 'cpuAllocation'
    | 'cpuMax'
    | 'memoryUsage'
    | 'memoryAllocation'
    | 'memoryMax'
  >,
): void {
  const previous = parts.at(-1);
  if (previous !== undefined && previous.bucketStartMs === u.bucketStartMs) {
    previous.fromMs = Math.min(previous.fromMs, fromMs);
    previous.toMs = Math.max(previous.toMs, toMs);
    previous.cpuUsage += u.cpuUsage;
    previous.cpuAllocation += u.cpuAllocation;
    previous.cpuMax += u.cpuMax;
    previous.memoryUsage += u.memoryUsage;
    previous.memoryAllocation += u.memoryAllocation;
    previous.memoryMax += u.memoryMax;
    return;
  }
  parts.push({
    fromMs,
    toMs,
    bucketStartMs: u.bucketStartMs,
    cpuUsage: u.cpuUsage,
    cpuAllocation: u.cpuAllocation,
    cpuMax: u.cpuMax,
    memoryUsage: u.memoryUsage,
    memoryAllocation: u.memoryAllocation,
    memoryMax: u.memoryMax,
  });
}

/** What one pass of the pricing stage decided for a tenant month. */
export interface PricedMonth {
  /** Charges to add per bucket (bucketKey). */
  readonly bucketAmounts: Map<string, bigint>;
  /** The moved position; null when no piece was priced under a plan. */
  readonly position: MonthPosition | null;
  /** Complete windows, in order: the events to publish. */
  readonly closed: PricedUsage[];
  /** The open window of every instance the pass touched (null: none any more). */
  readonly open: Map<string, PricedUsage | null>;
}

const NOT_FINAL: ReadonlyMap<string, { final: boolean }> = new Map();

/**
 * Prices one tenant month's pieces in the order given from its position (priceBatch's
 * arithmetic, unchanged: each part at the running position, by the plan in effect at the part's
 * start) and gathers the priced usage into windows (windowUsages, unchanged), continuing the
 * instances' open windows of this month as stored. Pure: the same pieces from the same position
 * give the same amounts and events, so a pass that rolled back and is redone publishes the same.
 */
export function priceMonth(
  pieces: readonly UnpricedPiece[],
  tenantId: string,
  period: string,
  stored: MonthPosition | null,
  openWindows: ReadonlyMap<string, PricedUsage>,
  catalog: PricingCatalog,
  rules: UsageWindowRules,
): PricedMonth {
  const key = positionKey(tenantId, period);
  let position = stored ?? emptyPosition(tenantId, period);
  let moved = false;
  const bucketAmounts = new Map<string, bigint>();
  const closed: PricedUsage[] = [];
  const current = new Map(openWindows);
  const touched = new Set<string>();
  for (const piece of pieces) {
    const priced = priceBatch(
      { intervals: [plannedOf(piece, catalog)], positionKeys: [] },
      new Map([[key, position]]),
      catalog,
    );
    const next = priced.positions.get(key);
    if (next !== undefined) {
      position = next;
      moved = true;
    }
    for (const [bk, a] of priced.bucketAmounts)
      bucketAmounts.set(bk, (bucketAmounts.get(bk) ?? 0n) + a);
    const ik = instanceKey(piece);
    const windows = windowUsages(
      priced.usages,
      current,
      piece.final ? new Map([[ik, { final: true }]]) : NOT_FINAL,
      rules,
    );
    closed.push(...windows.closed);
    for (const [k, w] of windows.open) {
      touched.add(k);
      if (w === null) current.delete(k);
      else current.set(k, w);
    }
    touched.add(ik);
  }
  const open = new Map<string, PricedUsage | null>();
  for (const k of touched) open.set(k, current.get(k) ?? null);
  return { bucketAmounts, position: moved ? position : null, closed, open };
}

function plannedOf(piece: UnpricedPiece, catalog: PricingCatalog): PlannedInterval {
  return {
    rated: {
      interval: piece,
      segments: piece.parts.map((p) => ({
        fromMs: p.fromMs,
        toMs: p.toMs,
        // Pricing reads the quantities only: the completeness counts stay at zero.
        usage: {
          ...emptyBucket(piece, p.bucketStartMs),
          cpuUsage: p.cpuUsage,
          cpuAllocation: p.cpuAllocation,
          cpuMax: p.cpuMax,
          memoryUsage: p.memoryUsage,
          memoryAllocation: p.memoryAllocation,
          memoryMax: p.memoryMax,
        },
      })),
    },
    plans: piece.parts.map((p) => catalog.planAt(piece.tenantId, p.fromMs)),
    periods: piece.parts.map(() => piece.period),
  };
}
