import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type CompletenessCounters } from '@metering/pricing';
import { z } from 'zod';
import { rows } from '../common/sql-rows';

/** The rows this repository reads, checked at the boundary (common/sql-rows.ts). */
const UsageDbRow = z.object({
  start_ms: z.string(),
  resource_id: z.string().nullable(),
  resource_kind: z.string().nullable(),
  cpu: z.string(),
  memory: z.string(),
  o: z.string(),
  g: z.string(),
  ig: z.string(),
  se: z.string(),
  so: z.string(),
  st: z.string(),
  dm: z.string(),
  dg: z.string(),
});
const ResourceDbRow = z.object({
  resource_id: z.string(),
  kind: z.enum(['container', 'vm']),
  name: z.string(),
  image: z.string().nullable(),
  flavour: z.string().nullable(),
  host: z.string(),
  first_ms: z.string(),
  last_ms: z.string(),
});

export type Basis = 'usage' | 'allocation' | 'max';

export interface UsageRow {
  readonly startMs: number;
  readonly resourceId: string | null;
  readonly resourceKind: string | null;
  readonly cpuCoreSeconds: string;
  readonly memoryByteSeconds: string;
  /** The item's completeness counters, summed (libs/pricing completeness.ts). */
  readonly completeness: CompletenessCounters;
}

/** A resource as the ledger's dimension describes it (rating records it from the samples). */
export interface ResourceDetails {
  readonly resourceId: string;
  readonly kind: 'container' | 'vm';
  readonly name: string;
  readonly image: string | null;
  readonly flavour: string | null;
  readonly host: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

/** Ledger columns by basis: a closed list, never user text in SQL. */
const COLUMNS: Record<Basis, { cpu: string; memory: string }> = {
  usage: { cpu: 'cpu_usage_core_seconds', memory: 'memory_usage_byte_seconds' },
  allocation: { cpu: 'cpu_allocation_core_seconds', memory: 'memory_allocation_byte_seconds' },
  max: { cpu: 'cpu_max_core_seconds', memory: 'memory_max_byte_seconds' },
};

@Injectable()
export class UsageRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Sums per hour bucket or per local day of `timeZone`, optionally per resource. */
  async series(q: {
    tenantId: string;
    fromMs: number;
    toMs: number;
    granularity: 'hour' | 'day';
    byResource: boolean;
    basis: Basis;
    timeZone: string;
  }): Promise<UsageRow[]> {
    const c = COLUMNS[q.basis];
    const start =
      q.granularity === 'hour'
        ? 'bucket_start'
        : `(date_trunc('day', bucket_start AT TIME ZONE $4) AT TIME ZONE $4)`;
    const resource = q.byResource ? 'resource_id' : 'NULL::text';
    const kind = q.byResource ? 'min(resource_kind)' : 'NULL::text';
    const found = await rows(
      this.dataSource,
      UsageDbRow,
      `SELECT (extract(epoch FROM ${start}) * 1000)::bigint::text AS start_ms,
              ${resource} AS resource_id, ${kind} AS resource_kind,
              sum(${c.cpu})::text AS cpu, sum(${c.memory})::text AS memory,
              sum(observed_ms)::text AS o, sum(gap_ms)::text AS g,
              sum(inferred_gap_ms)::text AS ig, sum(samples_expected)::text AS se,
              sum(samples_observed)::text AS so, sum(samples_thinned)::text AS st,
              sum(declared_ms)::text AS dm, sum(declared_gap_ms)::text AS dg
       FROM usage_bucket
       WHERE tenant_id = $1 AND bucket_start >= $2 AND bucket_start < $3
       GROUP BY 1, 2 ORDER BY 1, 2`,
      q.granularity === 'hour'
        ? [q.tenantId, new Date(q.fromMs), new Date(q.toMs)]
        : [q.tenantId, new Date(q.fromMs), new Date(q.toMs), q.timeZone],
    );
    return found.map((r) => ({
      startMs: Number(r.start_ms),
      resourceId: r.resource_id,
      resourceKind: r.resource_kind,
      cpuCoreSeconds: r.cpu,
      memoryByteSeconds: r.memory,
      completeness: {
        observedMs: BigInt(r.o),
        gapMs: BigInt(r.g),
        inferredGapMs: BigInt(r.ig),
        samplesExpected: BigInt(r.se),
        samplesObserved: BigInt(r.so),
        samplesThinned: BigInt(r.st),
        declaredMs: BigInt(r.dm),
        declaredGapMs: BigInt(r.dg),
      },
    }));
  }

  /** The dimension rows of a tenant's resources (absent: rated before names were recorded). */
  async resources(
    tenantId: string,
    resourceIds: readonly string[],
  ): Promise<Map<string, ResourceDetails>> {
    const found = new Map<string, ResourceDetails>();
    if (resourceIds.length === 0) return found;
    const described = await rows(
      this.dataSource,
      ResourceDbRow,
      `SELECT resource_id, kind, name, image, flavour, host,
              (extract(epoch FROM first_seen) * 1000)::bigint::text AS first_ms,
              (extract(epoch FROM last_seen) * 1000)::bigint::text AS last_ms
       FROM resource WHERE tenant_id = $1 AND resource_id = ANY($2::text[])`,
      [tenantId, resourceIds],
    );
    for (const r of described) {
      found.set(r.resource_id, {
        resourceId: r.resource_id,
        kind: r.kind,
        name: r.name,
        image: r.image,
        flavour: r.flavour,
        host: r.host,
        firstSeenMs: Number(r.first_ms),
        lastSeenMs: Number(r.last_ms),
      });
    }
    return found;
  }
}
