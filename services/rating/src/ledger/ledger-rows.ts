import { z } from 'zod';
import { type CompletenessCounters } from '@metering/pricing';
import {
  type BucketUsage,
  type InstanceState,
  type MonthPosition,
  type PiecePart,
  type PlanAssignment,
  type PricedUsage,
  type UnpricedPiece,
  amountUnitsOf,
  cpuUnitsOfCoreSeconds,
  memoryUnitsOfByteSeconds,
  memoryUnitsOfGibSeconds,
} from '../domain';

/**
 * The rows the rating ledger's stores read, each a zod schema that checks the row as PostgreSQL
 * returns it (exact figures as text, ids, kinds) and maps it to the domain's type: one place per
 * kind of row, shared by the stores. A row that does not match fails the statement (LedgerRowError).
 */

const kind = z.enum(['container', 'vm']);
const basis = z.enum(['usage', 'allocation', 'max']);
/** A decimal or integer the statement casts to text (exact: never a JavaScript number). */
const exact = z.string();

/** A bucket's running totals as the ledger holds them (decimal strings, exact): InfluxDB's `usage`. */
export interface BucketTotals {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly bucketStartMs: number;
  readonly cpuUsageCoreSeconds: string;
  readonly memoryUsageByteSeconds: string;
  readonly amount: string;
  readonly observedMs: number;
  readonly gapMs: number;
  /**
   * The bucket's completeness counters (libs/pricing completeness.ts), as committed; absent: only
   * observedMs and gapMs are known (judged by time).
   */
  readonly completeness?: CompletenessCounters;
}

/** Where a page of a tenant's buckets ends: the next page starts after it. */
export interface BucketCursor {
  readonly startMs: number;
  readonly resourceId: string;
}

/**
 * A bucket's totals: its quantities (`usage_bucket`) and its charge (`usage_bucket_charge`, 0 when
 * it has none). Over a FROM that joins the two USING their key (BUCKET_TOTALS_FROM), or over a
 * bucket row and a charge row joined the same way.
 */
export const BUCKET_TOTALS_COLUMNS = `tenant_id, resource_id, resource_kind,
  (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
  cpu_usage_core_seconds::text AS cpu, memory_usage_byte_seconds::text AS memory,
  coalesce(amount, 0)::text AS amount, observed_ms::text AS observed_ms, gap_ms::text AS gap_ms,
  inferred_gap_ms::text AS inferred_gap_ms, samples_expected::text AS samples_expected,
  samples_observed::text AS samples_observed, samples_thinned::text AS samples_thinned,
  declared_ms::text AS declared_ms, declared_gap_ms::text AS declared_gap_ms`;

const bucketTotalsFields = {
  tenant_id: z.string(),
  resource_id: z.string(),
  resource_kind: kind,
  start_ms: exact,
  cpu: exact,
  memory: exact,
  amount: exact,
  observed_ms: exact,
  gap_ms: exact,
  inferred_gap_ms: exact,
  samples_expected: exact,
  samples_observed: exact,
  samples_thinned: exact,
  declared_ms: exact,
  declared_gap_ms: exact,
};

function toBucketTotals(r: z.infer<z.ZodObject<typeof bucketTotalsFields>>): BucketTotals {
  return {
    tenantId: r.tenant_id,
    resourceId: r.resource_id,
    resourceKind: r.resource_kind,
    bucketStartMs: Number(r.start_ms),
    cpuUsageCoreSeconds: r.cpu,
    memoryUsageByteSeconds: r.memory,
    amount: r.amount,
    observedMs: Number(r.observed_ms),
    gapMs: Number(r.gap_ms),
    completeness: {
      observedMs: BigInt(r.observed_ms),
      gapMs: BigInt(r.gap_ms),
      inferredGapMs: BigInt(r.inferred_gap_ms),
      samplesExpected: BigInt(r.samples_expected),
      samplesObserved: BigInt(r.samples_observed),
      samplesThinned: BigInt(r.samples_thinned),
      declaredMs: BigInt(r.declared_ms),
      declaredGapMs: BigInt(r.declared_gap_ms),
    },
  };
}

/**
 * The buckets with their charges, read without locking either (a charge row is the pricing
 * stage's, a bucket row the batch's: docs/adr/0014-rating-scale-out.md). `USING` merges the key
 * columns, so BUCKET_TOTALS_COLUMNS and tenantPage name them unqualified.
 */
export const BUCKET_TOTALS_FROM = `usage_bucket LEFT JOIN usage_bucket_charge
  USING (tenant_id, resource_id, bucket_start)`;

/** BUCKET_TOTALS_COLUMNS → BucketTotals. */
export const bucketTotalsRow = z.object(bucketTotalsFields).transform(toBucketTotals);

/**
 * A bucket's totals as writeBatch returns them, with, on one of its rows, the unpriced-piece rows
 * it inserted ([id, tenant_id, period] each; null on the others).
 */
export const writtenBucketRow = z
  .object({
    ...bucketTotalsFields,
    piece_rows: z.array(z.tuple([z.string(), z.string(), z.string()])).nullable(),
  })
  .transform((r) => ({ totals: toBucketTotals(r), pieceRows: r.piece_rows }));

/** BUCKET_USAGE_COLUMNS → BucketUsage (the exact quantities a month is priced again from). */
export const BUCKET_USAGE_COLUMNS = `tenant_id, resource_id, resource_kind,
  (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
  cpu_usage_core_seconds::text AS c1, cpu_allocation_core_seconds::text AS c2,
  cpu_max_core_seconds::text AS c3, memory_usage_byte_seconds::text AS m1,
  memory_allocation_byte_seconds::text AS m2, memory_max_byte_seconds::text AS m3,
  observed_ms::text AS o, gap_ms::text AS g, inferred_gap_ms::text AS ig,
  samples_expected::text AS se, samples_observed::text AS so,
  samples_thinned::text AS st, declared_ms::text AS dm, declared_gap_ms::text AS dg`;

export const bucketUsageRow = z
  .object({
    tenant_id: z.string(),
    resource_id: z.string(),
    resource_kind: kind,
    start_ms: exact,
    c1: exact,
    c2: exact,
    c3: exact,
    m1: exact,
    m2: exact,
    m3: exact,
    o: exact,
    g: exact,
    ig: exact,
    se: exact,
    so: exact,
    st: exact,
    dm: exact,
    dg: exact,
  })
  .transform((r): BucketUsage => ({
    tenantId: r.tenant_id,
    resourceKind: r.resource_kind,
    resourceId: r.resource_id,
    bucketStartMs: Number(r.start_ms),
    cpuUsage: cpuUnitsOfCoreSeconds(r.c1),
    cpuAllocation: cpuUnitsOfCoreSeconds(r.c2),
    cpuMax: cpuUnitsOfCoreSeconds(r.c3),
    memoryUsage: memoryUnitsOfByteSeconds(r.m1),
    memoryAllocation: memoryUnitsOfByteSeconds(r.m2),
    memoryMax: memoryUnitsOfByteSeconds(r.m3),
    observedMs: Number(r.o),
    gapMs: Number(r.g),
    inferredGapMs: Number(r.ig),
    samplesExpected: Number(r.se),
    samplesObserved: Number(r.so),
    samplesThinned: Number(r.st),
    declaredMs: Number(r.dm),
    declaredGapMs: Number(r.dg),
  }));

export const POSITION_COLUMNS = `tenant_id, period, cpu_core_seconds::text AS cpu,
  memory_gib_seconds::text AS memory, cpu_amount::text AS cpu_amount,
  memory_amount::text AS memory_amount`;

/** POSITION_COLUMNS → MonthPosition. */
export const positionRow = z
  .object({
    tenant_id: z.string(),
    period: z.string(),
    cpu: exact,
    memory: exact,
    cpu_amount: exact,
    memory_amount: exact,
  })
  .transform((r): MonthPosition => ({
    tenantId: r.tenant_id,
    period: r.period,
    cpu: cpuUnitsOfCoreSeconds(r.cpu),
    memory: memoryUnitsOfGibSeconds(r.memory),
    cpuAmount: amountUnitsOf(r.cpu_amount),
    memoryAmount: amountUnitsOf(r.memory_amount),
  }));

export const ASSIGNMENT_COLUMNS = `tenant_id,
  (extract(epoch from effective_from) * 1000)::bigint::text AS from_ms, plan_id, plan_version`;

/** ASSIGNMENT_COLUMNS → PlanAssignment. */
export const assignmentRow = z
  .object({
    tenant_id: z.string(),
    from_ms: exact,
    plan_id: z.string(),
    plan_version: z.number().int(),
  })
  .transform((a): PlanAssignment => ({
    tenantId: a.tenant_id,
    effectiveFromMs: Number(a.from_ms),
    planId: a.plan_id,
    planVersion: a.plan_version,
  }));

/** An open usage window as stored (jsonb): exact figures as decimal strings. */
const windowJson = z.object({
  tenantId: z.string(),
  resourceKind: kind,
  resourceId: z.string(),
  instanceId: z.string(),
  fromMs: z.number(),
  toMs: z.number(),
  period: z.string(),
  plan: z.object({ id: z.string(), version: z.number().int() }).nullable(),
  currency: z.string(),
  basis,
  cpuUsage: exact,
  memoryUsage: exact,
  cpuPriced: exact,
  memoryPriced: exact,
  cpuAmount: exact,
  memoryAmount: exact,
  gap: z.boolean(),
});

/** A stored open window (jsonb) → PricedUsage. */
export const storedWindow = windowJson.transform((j): PricedUsage => ({
  ...j,
  cpuUsage: BigInt(j.cpuUsage),
  memoryUsage: BigInt(j.memoryUsage),
  cpuPriced: BigInt(j.cpuPriced),
  memoryPriced: BigInt(j.memoryPriced),
  cpuAmount: BigInt(j.cpuAmount),
  memoryAmount: BigInt(j.memoryAmount),
}));

/** PricedUsage → the jsonb an open window is stored as (storedWindow reads it back). */
export function windowToJson(w: PricedUsage): z.input<typeof windowJson> {
  return {
    tenantId: w.tenantId,
    resourceKind: w.resourceKind,
    resourceId: w.resourceId,
    instanceId: w.instanceId,
    fromMs: w.fromMs,
    toMs: w.toMs,
    period: w.period,
    plan: w.plan === null ? null : { id: w.plan.id, version: w.plan.version },
    currency: w.currency,
    basis: w.basis,
    cpuUsage: w.cpuUsage.toString(),
    memoryUsage: w.memoryUsage.toString(),
    cpuPriced: w.cpuPriced.toString(),
    memoryPriced: w.memoryPriced.toString(),
    cpuAmount: w.cpuAmount.toString(),
    memoryAmount: w.memoryAmount.toString(),
    gap: w.gap,
  };
}

export const STATE_COLUMNS = `s.resource_id, s.instance_id, s.tenant_id, s.resource_kind,
  (extract(epoch from s.started_at) * 1000)::bigint::text AS started_ms,
  (extract(epoch from s.last_observed_at) * 1000)::bigint::text AS observed_ms,
  s.last_cpu_usage_ns::text, s.last_memory_usage_bytes::text,
  s.last_cpu_allocation_cores::text, s.last_memory_allocation_bytes::text, s.final`;

/** STATE_COLUMNS → an instance's state. */
export const stateRow = z
  .object({
    resource_id: z.string(),
    instance_id: z.string(),
    tenant_id: z.string(),
    resource_kind: kind,
    started_ms: exact,
    observed_ms: exact,
    last_cpu_usage_ns: exact,
    last_memory_usage_bytes: exact,
    last_cpu_allocation_cores: exact.nullable(),
    last_memory_allocation_bytes: exact.nullable(),
    final: z.boolean(),
  })
  .transform((r): InstanceState => ({
    tenantId: r.tenant_id,
    resourceKind: r.resource_kind,
    resourceId: r.resource_id,
    instanceId: r.instance_id,
    startedAtMs: Number(r.started_ms),
    lastObservedAtMs: Number(r.observed_ms),
    lastCpuUsageNs: BigInt(r.last_cpu_usage_ns),
    lastMemoryUsageBytes: BigInt(r.last_memory_usage_bytes),
    lastCpuAllocationCores: r.last_cpu_allocation_cores,
    lastMemoryAllocationBytes:
      r.last_memory_allocation_bytes === null ? null : BigInt(r.last_memory_allocation_bytes),
    final: r.final,
  }));

/** A statement's single count or figure, as text (`n`). */
export const countRow = z.object({ n: exact });

/**
 * A tenant's buckets in [$2, $3) (epoch ms) after the cursor ($4 ms, $5 resource id; null: from
 * the start), in time order then resource id (byte order), $6 at most: keyset paging. Over
 * `usage_bucket` (quantities: BUCKET_USAGE_COLUMNS) or BUCKET_TOTALS_FROM (with charges).
 */
export const tenantPage = (from: string): string => `FROM ${from}
  WHERE tenant_id = $1 AND bucket_start >= to_timestamp($2::numeric / 1000)
    AND bucket_start < to_timestamp($3::numeric / 1000)
    AND ($4::numeric IS NULL
         OR (bucket_start, resource_id COLLATE "C") > (to_timestamp($4::numeric / 1000), $5))
  ORDER BY bucket_start, resource_id COLLATE "C"
  LIMIT $6`;

export function tenantPageParams(
  tenantId: string,
  range: { fromMs: number; toMs: number },
  after: BucketCursor | null,
  limit: number,
): unknown[] {
  return [
    tenantId,
    String(range.fromMs),
    String(range.toMs),
    after === null ? null : String(after.startMs),
    after?.resourceId ?? null,
    limit,
  ];
}

/** A piece part as stored: [fromMs, toMs, bucketStartMs, the six quantities as decimal strings]. */
const partJson = z.tuple([
  z.number(),
  z.number(),
  z.number(),
  exact,
  exact,
  exact,
  exact,
  exact,
  exact,
]);

const pieceJson = z.object({
  tenantId: z.string(),
  resourceKind: kind,
  resourceId: z.string(),
  instanceId: z.string(),
  period: z.string(),
  gap: z.boolean(),
  final: z.boolean(),
  parts: z.array(partJson),
});

/** An unpriced piece as stored (jsonb) → UnpricedPiece. */
export const storedPiece = pieceJson.transform((j): UnpricedPiece => ({
  ...j,
  parts: j.parts.map((p) => partOf(...p)),
}));

/** A stored part's fields → the part (its quantities BigInt of their decimal strings). */
export function partOf(
  fromMs: number,
  toMs: number,
  bucketStartMs: number,
  c1: string,
  c2: string,
  c3: string,
  m1: string,
  m2: string,
  m3: string,
): PiecePart {
  return {
    fromMs,
    toMs,
    bucketStartMs,
    cpuUsage: BigInt(c1),
    cpuAllocation: BigInt(c2),
    cpuMax: BigInt(c3),
    memoryUsage: BigInt(m1),
    memoryAllocation: BigInt(m2),
    memoryMax: BigInt(m3),
  };
}

/** UnpricedPiece → the jsonb it is stored as (storedPiece reads it back). */
export function pieceToJson(p: UnpricedPiece): z.input<typeof pieceJson> {
  return {
    tenantId: p.tenantId,
    resourceKind: p.resourceKind,
    resourceId: p.resourceId,
    instanceId: p.instanceId,
    period: p.period,
    gap: p.gap,
    final: p.final,
    parts: p.parts.map((x) => [
      x.fromMs,
      x.toMs,
      x.bucketStartMs,
      x.cpuUsage.toString(),
      x.cpuAllocation.toString(),
      x.cpuMax.toString(),
      x.memoryUsage.toString(),
      x.memoryAllocation.toString(),
      x.memoryMax.toString(),
    ]),
  };
}
