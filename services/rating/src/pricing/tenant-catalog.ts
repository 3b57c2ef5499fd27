import { isValidTimeZone, pricePlanOfStored } from '@metering/pricing';
import {
  type PlanAssignment,
  type PricingCatalog,
  type RatingPlan,
  PlanTimeline,
  planVersionKey,
  ratingPlanOf,
} from '../domain';
import { type CatalogReader } from '../ledger/catalog.reader';

/** A tenant's changed assignments: from when pricing is affected, and the assignments now. */
export interface AssignmentChange {
  readonly fromMs: number;
  readonly assignments: readonly PlanAssignment[];
}

export interface TenantCatalogOptions {
  /** How long tenants, plans and assignments may be cached. */
  readonly ttlMs: number;
  /** Zone of tenants not registered yet. */
  readonly defaultTimeZone: string;
  /** Currency of the (zero) amounts of tenants that are not registered yet. */
  readonly defaultCurrency: string;
  /**
   * Whether the first load compares the assignments with those the ledger says the buckets were
   * priced with (rating: yes, so changes made while it was down are noticed; backfill: no).
   */
  readonly comparePriced?: boolean;
}

/**
 * Tenants (billing zone, currency), plan versions and assignments, read from the ledger and
 * cached for `ttlMs`: what rating needs per batch, without a query per batch. A change made
 * through the billing API applies to batches rated after the cache expires; plan versions are
 * immutable, so their parsed tiers are kept across refreshes.
 */
export class TenantCatalog {
  private zones = new Map<string, string>();
  private timeline: PlanTimeline;
  private loadedAt = -Infinity;
  private reloading: Promise<void> | null = null;
  private readonly plans = new Map<string, RatingPlan>();
  /** Each tenant's assignments as last loaded (null before the first load). */
  private assignments: Map<string, Set<string>> | null = null;
  /** Tenants whose assignments changed since the last takeChanges(), from when. */
  private changes = new Map<string, number>();
  /** The assignments as last loaded, per tenant. */
  private current = new Map<string, PlanAssignment[]>();

  constructor(
    private readonly ledger: Pick<CatalogReader, 'loadCatalog' | 'loadPricedAssignments'>,
    private readonly options: TenantCatalogOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.timeline = new PlanTimeline([], new Map(), new Map(), options.defaultCurrency);
  }

  /**
   * Reloads when the cache is older than the TTL; callers at once (the batches and the pricing
   * stage) share one reload.
   */
  async refresh(): Promise<void> {
    if (this.clock() - this.loadedAt < this.options.ttlMs) return;
    this.reloading ??= this.reload().finally(() => (this.reloading = null));
    await this.reloading;
  }

  async reload(): Promise<void> {
    const rows = await this.ledger.loadCatalog();
    for (const row of rows.plans) {
      const key = planVersionKey(row.id, row.version);
      if (!this.plans.has(key)) this.plans.set(key, ratingPlanOf(pricePlanOfStored(row)));
    }
    const zones = new Map<string, string>();
    const currencies = new Map<string, string>();
    for (const t of rows.tenants) {
      // A zone the runtime does not know would fail every batch; such a tenant is rated in
      // the default zone rather than blocking everyone (the billing API validates zones).
      zones.set(t.id, isValidTimeZone(t.timeZone) ? t.timeZone : this.options.defaultTimeZone);
      currencies.set(t.id, t.currency);
    }
    this.timeline = new PlanTimeline(
      rows.assignments,
      this.plans,
      currencies,
      this.options.defaultCurrency,
    );
    this.zones = zones;
    if (this.assignments === null && this.options.comparePriced === true) {
      // First load: against what the buckets were priced with, so a change made while no rating
      // process ran is noticed too.
      this.assignments = byTenant(await this.ledger.loadPricedAssignments());
    }
    this.noteChanges(rows.assignments);
    this.current = new Map<string, PlanAssignment[]>();
    for (const a of rows.assignments) {
      const list = this.current.get(a.tenantId) ?? [];
      list.push(a);
      this.current.set(a.tenantId, list);
    }
    this.loadedAt = this.clock();
  }

  /**
   * Tenants whose plan assignments changed since the last call (added, removed or replaced while
   * this process ran), each with the earliest instant the change affects: usage rated from then
   * on may have been priced by the wrong plan. Empties the list.
   */
  takeChanges(): Map<string, AssignmentChange> {
    const changes = new Map<string, AssignmentChange>();
    for (const [tenantId, fromMs] of this.changes) {
      changes.set(tenantId, { fromMs, assignments: this.current.get(tenantId) ?? [] });
    }
    this.changes = new Map();
    return changes;
  }

  /**
   * Changes taken but not repriced (the reprice failed): noted again, so the batch's redelivery
   * prices those months again instead of leaving them priced by the wrong plan until a restart.
   */
  returnChanges(changes: ReadonlyMap<string, AssignmentChange>): void {
    for (const [tenantId, { fromMs }] of changes) {
      this.changes.set(tenantId, Math.min(fromMs, this.changes.get(tenantId) ?? fromMs));
    }
  }

  private noteChanges(assignments: readonly PlanAssignment[]): void {
    const now = byTenant(assignments);
    const before = this.assignments;
    this.assignments = now;
    if (before === null) return;
    for (const tenant of new Set([...before.keys(), ...now.keys()])) {
      const old = before.get(tenant) ?? new Set<string>();
      const cur = now.get(tenant) ?? new Set<string>();
      let from = Infinity;
      for (const e of old) if (!cur.has(e)) from = Math.min(from, effectiveOf(e));
      for (const e of cur) if (!old.has(e)) from = Math.min(from, effectiveOf(e));
      if (from !== Infinity)
        this.changes.set(tenant, Math.min(from, this.changes.get(tenant) ?? from));
    }
  }

  zoneOf(tenantId: string): string {
    return this.zones.get(tenantId) ?? this.options.defaultTimeZone;
  }

  get pricing(): PricingCatalog {
    return this.timeline;
  }
}

function byTenant(assignments: readonly PlanAssignment[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const a of assignments) {
    const set = out.get(a.tenantId) ?? new Set<string>();
    set.add(`${a.effectiveFromMs}\u0000${planVersionKey(a.planId, a.planVersion)}`);
    out.set(a.tenantId, set);
  }
  return out;
}

const effectiveOf = (entry: string): number => Number(entry.slice(0, entry.indexOf('\u0000')));
