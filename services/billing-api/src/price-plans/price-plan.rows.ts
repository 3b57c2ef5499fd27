import { z } from 'zod';

/** A tier as price_plan.cpu_tiers/memory_tiers store it (jsonb; TierRecord of libs/ledger). */
export const TierRecordSchema = z.looseObject({
  upTo: z.string().nullable(),
  unitPrice: z.string(),
});

/** A plan's tiers of one resource: null when the resource is not priced. */
export const TiersColumn = z.array(TierRecordSchema).nullable();

export const BasisColumn = z.enum(['usage', 'allocation', 'max']);
