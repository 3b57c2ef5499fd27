import { z } from 'zod';
import { type StoredPricePlan } from '@metering/pricing';
import { type PlanAssignment } from '../domain';
import { type LedgerDb } from './ledger-db';
import { ASSIGNMENT_COLUMNS, assignmentRow } from './ledger-rows';

interface CatalogRows {
  readonly tenants: readonly { id: string; timeZone: string; currency: string }[];
  readonly plans: readonly StoredPricePlan[];
  readonly assignments: readonly PlanAssignment[];
}

const tenantRow = z
  .object({ id: z.string(), time_zone: z.string(), currency: z.string() })
  .transform((t) => ({ id: t.id, timeZone: t.time_zone, currency: t.currency }));

const tiers = z.array(z.object({ upTo: z.string().nullable(), unitPrice: z.string() })).nullable();

const planRow = z
  .object({
    id: z.string(),
    version: z.number().int(),
    currency: z.string(),
    basis: z.enum(['usage', 'allocation', 'max']),
    cpu_tiers: tiers,
    memory_tiers: tiers,
    minimum: z.string(),
  })
  .transform((r): StoredPricePlan => ({
    id: r.id,
    version: r.version,
    currency: r.currency,
    basis: r.basis,
    cpuTiers: r.cpu_tiers,
    memoryTiers: r.memory_tiers,
    minimum: r.minimum,
  }));

/** What the tenant catalog (pricing/tenant-catalog.ts) reads: tenants, plans, assignments. */
export class CatalogReader {
  constructor(private readonly db: LedgerDb) {}

  /** Registered tenants, every plan version and every assignment: the pricing catalog. */
  async loadCatalog(): Promise<CatalogRows> {
    const tenants = await this.db.rows(
      null,
      tenantRow,
      `SELECT id, time_zone, currency FROM tenant`,
    );
    const plans = await this.db.rows(
      null,
      planRow,
      `SELECT id, version, currency, basis, cpu_tiers, memory_tiers, minimum::text AS minimum
       FROM price_plan`,
    );
    const assignments = await this.db.rows(
      null,
      assignmentRow,
      `SELECT ${ASSIGNMENT_COLUMNS} FROM plan_assignment`,
    );
    return { tenants, plans, assignments };
  }

  /** The plan assignments rating last priced each tenant's buckets with. */
  loadPricedAssignments(): Promise<PlanAssignment[]> {
    return this.db.rows(
      null,
      assignmentRow,
      `SELECT ${ASSIGNMENT_COLUMNS} FROM rating_priced_assignment`,
    );
  }
}
