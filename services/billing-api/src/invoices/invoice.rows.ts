import { z } from 'zod';
import { jsonDocument } from '../common/sql-rows';
import { type InvoiceDocument, type SegmentCompleteness, type UsageTotals } from './domain';

/** The rows invoice.repository.ts reads, each checked at the boundary (common/sql-rows.ts). */

/** sum(…)::text of NUMERIC/bigint columns: exact decimal text, null over no rows. */
const sum = z.string().nullable();

export const SumsRow = z.object({
  cpu_usage: sum,
  cpu_allocation: sum,
  cpu_max: sum,
  memory_usage: sum,
  memory_allocation: sum,
  memory_max: sum,
  observed_ms: sum,
  gap_ms: sum,
});
export type SumsRow = z.output<typeof SumsRow>;

export const CompletenessRow = z.object({
  inferred_gap_ms: sum,
  samples_expected: sum,
  samples_observed: sum,
  samples_thinned: sum,
  declared_ms: sum,
  declared_gap_ms: sum,
});
export type CompletenessRow = z.output<typeof CompletenessRow>;

export const SegmentUsageRow = z.object({
  ...SumsRow.shape,
  ...CompletenessRow.shape,
  segment: z.number().int(),
  resource_id: z.string(),
  resource_kind: z.enum(['container', 'vm']),
  resource_name: z.string().nullable(),
});

export const DailyUsageRow = z.object({ day_ms: z.string(), cpu: z.string(), memory: z.string() });

export const InvoiceContentRow = z.object({
  content: jsonDocument<InvoiceDocument>(),
  content_hash: z.string(),
});
export const ContentRow = z.object({ content: jsonDocument<InvoiceDocument>() });
export const TenantContentRow = z.object({
  tenant_id: z.string(),
  content: jsonDocument<InvoiceDocument>(),
});
export const TenantPeriodRow = z.object({ tenant_id: z.string(), period: z.string() });
export const TenantIdRow = z.object({ tenant_id: z.string() });
export const PdfRow = z.object({ pdf: z.instanceof(Buffer), sha256: z.string() });
export const CounterRow = z.object({ last_sequence: z.number().int() });

export const FinalSummaryDbRow = z.object({
  period: z.string(),
  number: z.string(),
  currency: z.string(),
  total: z.string(),
  finalized_at: z.date(),
  content_hash: z.string(),
});

export const AssignmentRow = z.object({
  tenant_id: z.string(),
  effective_from: z.date(),
  plan_id: z.string(),
  plan_version: z.number().int(),
});

export const completenessOfRow = (r: CompletenessRow): SegmentCompleteness => ({
  inferredGapMs: r.inferred_gap_ms ?? '0',
  samplesExpected: r.samples_expected ?? '0',
  samplesObserved: r.samples_observed ?? '0',
  samplesThinned: r.samples_thinned ?? '0',
  declaredMs: r.declared_ms ?? '0',
  declaredGapMs: r.declared_gap_ms ?? '0',
});

export const totalsOf = (r: SumsRow | null | undefined): UsageTotals => ({
  cpuUsageCoreSeconds: r?.cpu_usage ?? '0',
  cpuAllocationCoreSeconds: r?.cpu_allocation ?? '0',
  cpuMaxCoreSeconds: r?.cpu_max ?? '0',
  memoryUsageByteSeconds: r?.memory_usage ?? '0',
  memoryAllocationByteSeconds: r?.memory_allocation ?? '0',
  memoryMaxByteSeconds: r?.memory_max ?? '0',
  observedMs: r?.observed_ms ?? '0',
  gapMs: r?.gap_ms ?? '0',
});
