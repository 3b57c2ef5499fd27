import { type PricePlan } from '@metering/pricing';
import { CPU_UNITS_PER_HOUR, GraduatedTable, MEMORY_UNITS_PER_HOUR } from './graduated-table';
import { type PricingCatalog, type RatingPlan } from './price-batch';

export interface PlanAssignment {
  readonly tenantId: string;
  /** From this instant on (until the next assignment) the tenant is billed by the version. */
  readonly effectiveFromMs: number;
  readonly planId: string;
  readonly planVersion: number;
}

export const planVersionKey = (id: string, version: number): string => `${id}@${version}`;

/** A validated price plan version (libs/pricing) with its tiers as exact tables. */
export function ratingPlanOf(plan: PricePlan): RatingPlan {
  return {
    id: plan.id,
    version: plan.version,
    currency: plan.currency,
    basis: plan.basis,
    cpu: plan.cpu === null ? null : new GraduatedTable(plan.cpu, CPU_UNITS_PER_HOUR),
    memory: plan.memory === null ? null : new GraduatedTable(plan.memory, MEMORY_UNITS_PER_HOUR),
  };
}

export class UnknownPlanVersionError extends Error {
  readonly code = 'PLAN_VERSION_UNKNOWN';
}

interface Entry {
  readonly fromMs: number;
  readonly plan: RatingPlan;
}

/**
 * Which plan version prices a tenant's usage at an instant: the assignment with the latest
 * `effectiveFrom` at or before it. Pure and immutable: a snapshot of the ledger's tenants,
 * plans and assignments.
 */
export class PlanTimeline implements PricingCatalog {
  private readonly byTenant = new Map<string, Entry[]>();

  constructor(
    assignments: readonly PlanAssignment[],
    plans: ReadonlyMap<string, RatingPlan>,
    private readonly currencies: ReadonlyMap<string, string>,
    private readonly defaultCurrency: string,
  ) {
    for (const a of assignments) {
      const plan = plans.get(planVersionKey(a.planId, a.planVersion));
      if (plan === undefined) {
        throw new UnknownPlanVersionError(
          `tenant ${a.tenantId} is assigned plan ${a.planId} version ${a.planVersion}, which does not exist`,
        );
      }
      const list = this.byTenant.get(a.tenantId) ?? [];
      list.push({ fromMs: a.effectiveFromMs, plan });
      this.byTenant.set(a.tenantId, list);
    }
    for (const list of this.byTenant.values()) list.sort((x, y) => x.fromMs - y.fromMs);
  }

  planAt(tenantId: string, atMs: number): RatingPlan | null {
    const list = this.byTenant.get(tenantId);
    if (list === undefined) return null;
    // Assignments per tenant are few: a backwards scan finds the latest one in effect.
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i]!;
      if (entry.fromMs <= atMs) return entry.plan;
    }
    return null;
  }

  currencyOf(tenantId: string): string {
    return this.currencies.get(tenantId) ?? this.defaultCurrency;
  }
}
