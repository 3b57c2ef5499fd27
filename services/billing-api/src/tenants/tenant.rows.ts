import { z } from 'zod';
import { BasisColumn, TiersColumn } from '../price-plans/price-plan.rows';

/** The rows tenant.repository.ts reads, each checked at the boundary (common/sql-rows.ts). */

export const TENANT_COLUMNS = `id, name, time_zone, currency, created_at, legal_name, address, tax_id, email,
  tax_rate::text AS tax_rate, tax_exemption_reason, payment_terms_days, locale`;

export const TenantDbRow = z.object({
  id: z.string(),
  name: z.string(),
  time_zone: z.string(),
  currency: z.string(),
  created_at: z.date(),
  legal_name: z.string().nullable(),
  address: z.array(z.string()).nullable(),
  tax_id: z.string().nullable(),
  email: z.string().nullable(),
  tax_rate: z.string().nullable(),
  tax_exemption_reason: z.string().nullable(),
  payment_terms_days: z.number().int(),
  locale: z.string(),
});
export type TenantDbRow = z.output<typeof TenantDbRow>;

export const CountRow = z.object({ n: z.string() });
export const ExistsRow = z.object({ ok: z.boolean() });
export const TimeZoneRow = z.object({ time_zone: z.string() });
export const LastPeriodRow = z.object({ period: z.string().nullable() });

export const AssignmentDbRow = z.object({
  tenant_id: z.string(),
  effective_from: z.date(),
  plan_id: z.string(),
  plan_version: z.number().int(),
});

export const AssignedPlanDbRow = z.object({
  ...AssignmentDbRow.shape,
  currency: z.string(),
  basis: BasisColumn,
  cpu_tiers: TiersColumn,
  memory_tiers: TiersColumn,
  minimum: z.string(),
});
