import {
  type MonthPosition,
  type PricedUsage,
  type PricingCatalog,
  type UsageWindowRules,
  bucketKey,
  instanceKey,
  positionKey,
  priceMonth,
} from '../domain';
import { byBucketKey } from '../ledger/batch-ledger.store';
import { type LedgerTx } from '../ledger/ledger-db';
import { type BucketTotals } from '../ledger/ledger-rows';
import {
  type BucketAmount,
  type MonthKey,
  type MonthPage,
  type PricingStore,
  type WindowKey,
} from '../ledger/pricing.store';
import { type StagedUsage, type UsageEventSink } from '../publishing/usage-event.outbox';

/** What a pass needs besides its transaction and months (the stage's parts and settings). */
export interface PassContext {
  readonly store: PricingStore;
  readonly pricing: PricingCatalog;
  readonly usageEvents: UsageEventSink;
  readonly windows: UsageWindowRules;
  readonly idleMs: number;
  /** Pieces a pass takes (whole rows: it may pass this by the last row's). */
  readonly pageSize: number;
}

/** A month whose lease the pass's transaction holds, at its position. */
export interface LeasedMonth {
  readonly key: MonthKey;
  readonly position: MonthPosition;
}

/** What a committed pass hands on: its events to publish, its charges to show. */
export interface PassResult {
  readonly staged: StagedUsage;
  readonly buckets: BucketTotals[];
  /** The positions of the months priced under a plan. */
  readonly positions: MonthPosition[];
  /** The pass took `pageSize` pieces: its months may have more. */
  readonly more: boolean;
  /** Pieces the pass priced, by month (positionKey). */
  readonly pieces: ReadonlyMap<string, number>;
}

const NO_PIECES: MonthPage = { pieces: [], windows: [] };

/**
 * One pass over leased months, in the caller's transaction: their oldest pieces priced from
 * their positions, and what that settles written with a statement for all of them each.
 */
export async function pricePass(
  ctx: PassContext,
  tx: LedgerTx,
  leased: readonly LeasedMonth[],
  dropEmpty: boolean,
): Promise<PassResult> {
  const pages = await ctx.store.unpricedPages(
    tx,
    leased.map((l) => l.key),
    ctx.pageSize,
  );
  // The pages hold whole rows: `pageSize` pieces or more means rows may be left.
  const more = pages.count >= ctx.pageSize;
  const amounts: BucketAmount[] = [];
  const moved: MonthPosition[] = [];
  const positions: MonthPosition[] = [];
  const open: PricedUsage[] = [];
  const shut: WindowKey[] = [];
  const closed: PricedUsage[] = [];
  const dropped: MonthKey[] = [];
  const pieces = new Map<string, number>();
  for (const { key, position } of leased) {
    const id = positionKey(key.tenantId, key.period);
    const page = pages.months.get(id) ?? NO_PIECES;
    pieces.set(id, page.pieces.length);
    const instances = new Map<string, { resourceId: string; instanceId: string }>();
    for (const p of page.pieces) instances.set(instanceKey(p), p);
    const stored = new Map<string, PricedUsage>();
    for (const w of page.windows) stored.set(instanceKey(w), w);
    const priced = priceMonth(
      page.pieces,
      key.tenantId,
      key.period,
      position,
      stored,
      ctx.pricing,
      ctx.windows,
    );
    // The charges per bucket (nothing to add: skipped, no charge row written).
    const bucketsOf = new Map<string, BucketAmount>();
    for (const p of page.pieces)
      for (const part of p.parts) {
        const bucket = {
          tenantId: p.tenantId,
          resourceId: p.resourceId,
          bucketStartMs: part.bucketStartMs,
        };
        const amount = priced.bucketAmounts.get(bucketKey(bucket)) ?? 0n;
        if (amount !== 0n) bucketsOf.set(bucketKey(bucket), { ...bucket, amount });
      }
    amounts.push(...bucketsOf.values());
    // A position that did not move (no piece, or none with usage) is not written again.
    if (priced.position !== null) {
      positions.push(priced.position);
      if (!samePosition(priced.position, position)) moved.push(priced.position);
    }
    // No plan, no position: the row the lease needed goes again (created again when needed).
    if (priced.position === null && dropEmpty && !more && isEmpty(position)) dropped.push(key);
    for (const [k, w] of priced.open) {
      const i = instances.get(k);
      if (w !== null) open.push(w);
      else if (i !== undefined) shut.push({ ...i, period: key.period });
    }
    closed.push(...priced.closed);
  }
  // The charges in bucket key order, the moved positions and the priced pieces' deletion: one
  // statement.
  const buckets = await ctx.store.settleMonths(tx, {
    amounts: amounts.sort(byBucketKey),
    moved,
    pieceRows: pages.ids,
  });
  await ctx.store.dropMonths(tx, dropped);
  await ctx.store.storeWindows(tx, open, shut);
  const idle = more
    ? []
    : await ctx.store.takeIdleWindows(
        tx,
        leased.map((l) => l.key),
        ctx.idleMs,
      );
  const staged = await ctx.usageEvents.stage(tx, [...closed, ...idle]);
  return { staged, buckets, positions, more, pieces };
}

function samePosition(a: MonthPosition, b: MonthPosition): boolean {
  return (
    a.cpu === b.cpu &&
    a.memory === b.memory &&
    a.cpuAmount === b.cpuAmount &&
    a.memoryAmount === b.memoryAmount
  );
}

function isEmpty(p: MonthPosition): boolean {
  return p.cpu === 0n && p.memory === 0n && p.cpuAmount === 0n && p.memoryAmount === 0n;
}
