import { z } from 'zod';

/** A tier as price_plan.cpu_tiers/memory_tiers store it (jsonb; TierRecord of libs/ledger). */
export const TierRecordSchema = z.looseObject({
  upTo: z.string().nullable(),
  unitPrice: z.string(),
});

/** A plan's tiers of one resource: null when the resource is not priced. */
export const TiersColumn = z.array(TierRecordSchema).nullable();

export const BasisColumn = z.enum(['usage', 'allocation', 'max']);

/** A price_plan row as price-plan.repository.ts selects it (minimum as text). */
export const PlanDbRow = z.object({
  id: z.string(),
  version: z.number().int(),
  currency: z.string(),
  basis: BasisColumn,
  cpu_tiers: TiersColumn,
  memory_tiers: TiersColumn,
  minimum: z.string(),
  created_at: z.date(),
});
