import {
  type MonthPosition,
  type PricedUsage,
  type PricingCatalog,
  type UnpricedPiece,
  type UsageWindowRules,
  bucketKey,
  instanceKey,
  positionKey,
  priceMonth,
} from '../domain';
import { byBucketKey } from '../ledger/batch-ledger.store';
import { type BucketAmount, type MonthKey } from '../ledger/pricing.store';

/** A leased month's page: its oldest pieces and the open windows of their instances. */
export interface MonthPage {
  readonly ids: readonly string[];
  readonly pieces: readonly UnpricedPiece[];
  readonly windows: readonly PricedUsage[];
}

/** What a pass over leased months writes, worked out before any of it is written. */
export interface PassPlan {
  /** The charges to add, in bucket key order. */
  readonly amounts: BucketAmount[];
  /** The positions that moved (a position that did not is not written again). */
  readonly moved: MonthPosition[];
  /** The priced months' positions (a month no plan prices has none). */
  readonly positions: MonthPosition[];
  readonly pieceIds: string[];
  /** Each month's windows after the pass (null: closed) and its pieces' instances. */
  readonly windows: {
    readonly key: MonthKey;
    readonly windows: ReadonlyMap<string, PricedUsage | null>;
    readonly instances: ReadonlyMap<string, { resourceId: string; instanceId: string }>;
  }[];
  /** The complete windows to publish, by month (positionKey), in the month's order. */
  readonly closedBy: Map<string, PricedUsage[]>;
  /** The months whose page was not full: their idle windows close in this pass. */
  readonly notFull: MonthKey[];
  /** Months no plan prices and nothing moved: their position rows go (dropEmpty). */
  readonly empties: MonthKey[];
  /** The months (positionKey) whose page was full: more pieces may be waiting. */
  readonly more: Set<string>;
  /** Pieces priced per month (positionKey). */
  readonly pieces: Map<string, number>;
}

/**
 * Prices each leased month's page from its position with its open windows (priceMonth:
 * graduated tiers, usage windows) and gathers what the pass writes for all of them. Pure: the
 * stage reads the pages and writes the plan, in the transaction that holds the leases.
 */
export function planPass(
  leased: readonly { key: MonthKey; position: MonthPosition }[],
  pages: ReadonlyMap<string, MonthPage>,
  pricing: PricingCatalog,
  rules: UsageWindowRules,
  options: { readonly limit: number; readonly dropEmpty: boolean },
): PassPlan {
  const plan: PassPlan = {
    amounts: [],
    moved: [],
    positions: [],
    pieceIds: [],
    windows: [],
    closedBy: new Map(),
    notFull: [],
    empties: [],
    more: new Set(),
    pieces: new Map(),
  };
  for (const { key, position } of leased) {
    const id = positionKey(key.tenantId, key.period);
    const page = pages.get(id) ?? { ids: [], pieces: [], windows: [] };
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
      pricing,
      rules,
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
    plan.amounts.push(...bucketsOf.values());
    const full = page.ids.length === options.limit;
    if (full) plan.more.add(id);
    else plan.notFull.push(key);
    if (priced.position !== null) {
      plan.positions.push(priced.position);
      if (!samePosition(priced.position, position)) plan.moved.push(priced.position);
    }
    // No plan, no position: the row the lease needed goes again (created again when needed).
    else if (options.dropEmpty && !full && isEmpty(position)) plan.empties.push(key);
    plan.windows.push({ key, windows: priced.open, instances });
    plan.closedBy.set(id, [...priced.closed]);
    plan.pieceIds.push(...page.ids);
    plan.pieces.set(id, page.ids.length);
  }
  plan.amounts.sort(byBucketKey);
  return plan;
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
