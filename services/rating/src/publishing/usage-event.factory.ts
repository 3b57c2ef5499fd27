import { SCHEMA_VERSIONS, type UsageEvent, usageIdOf } from '@metering/contracts';
import { type PricedUsage, amount, coreSeconds, gibSeconds } from '../domain';

/**
 * The plan fields of usage by a tenant without a plan: the contract requires a plan id and a
 * positive version, so such usage names this reserved id (never a real plan's: the billing API
 * refuses it) with `planAssigned: false`, and its amounts are zero in the tenant's currency.
 */
export const NO_PLAN = { id: 'none', version: 1 } as const;

/**
 * A `billing.usage.v1` event for priced usage. The usage id is the contract's deterministic id
 * of the interval, so re-rating the same interval (a retried batch) yields the same id: consumers
 * upsert by usageId, the last publication winning (it is the committed one).
 *
 * Beyond the contract's fields (its objects are open): `period` (billing month in the tenant's
 * zone), `basis` and `priced` (the quantities the amounts were computed from, on the plan's
 * basis), `planAssigned`, and `gap` (the interval was a gap: CPU counted, no memory invented).
 */
export function usageEventOf(u: PricedUsage, ratedAt: string): UsageEvent {
  const from = new Date(u.fromMs);
  const to = new Date(u.toMs);
  const start = from.toISOString();
  const end = to.toISOString();
  return {
    schema: SCHEMA_VERSIONS.usage,
    usageId: usageIdOf({
      tenantId: u.tenantId,
      resourceKind: u.resourceKind,
      resourceId: u.resourceId,
      instanceId: u.instanceId,
      intervalStart: from,
      intervalEnd: to,
    }),
    tenantId: u.tenantId,
    resource: { kind: u.resourceKind, id: u.resourceId, instanceId: u.instanceId },
    interval: { start, end },
    cpuCoreSeconds: coreSeconds(u.cpuUsage),
    memoryGibSeconds: gibSeconds(u.memoryUsage),
    amounts: {
      currency: u.currency,
      cpu: amount(u.cpuAmount),
      memory: amount(u.memoryAmount),
      total: amount(u.cpuAmount + u.memoryAmount),
    },
    planId: u.plan?.id ?? NO_PLAN.id,
    planVersion: u.plan?.version ?? NO_PLAN.version,
    ratedAt,
    period: u.period,
    basis: u.basis,
    priced: {
      cpuCoreSeconds: coreSeconds(u.cpuPriced),
      memoryGibSeconds: gibSeconds(u.memoryPriced),
    },
    planAssigned: u.plan !== null,
    gap: u.gap,
  };
}
