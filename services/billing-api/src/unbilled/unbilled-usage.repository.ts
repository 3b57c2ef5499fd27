import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { execute, rows } from '../common/sql-rows';

/** One tenant id of the ledger, as a scan meets it (ids in the database's order). */
export interface ScannedTenant {
  readonly tenantId: string;
  readonly registered: boolean;
  /** Its usage in the range when it is not registered; null when registered or none. */
  readonly usage: {
    readonly cpuCoreSeconds: string;
    readonly memoryByteSeconds: string;
    readonly resources: number;
    readonly firstBucketStart: Date;
    readonly lastBucketStart: Date;
  } | null;
}

/** A row of the scan, checked at the boundary (common/sql-rows.ts). */
const ScannedRow = z.object({
  tenant_id: z.string(),
  registered: z.boolean(),
  cpu: z.string().nullable(),
  memory: z.string().nullable(),
  resources: z.number().int().nullable(),
  first_start: z.date().nullable(),
  last_start: z.date().nullable(),
});

/**
 * Reads usage_bucket for tenant ids that have no tenant row. usage_bucket has no index that
 * starts with bucket_start (rating writes it at high rate; another index would slow every batch),
 * so the scan walks the distinct tenant ids through the (tenant_id, bucket_start) index instead:
 * one index descent per id (a "loose index scan", a recursive CTE), then, for the unregistered
 * ones only, an index range scan of their buckets in the period. The cost is bounded by the ids
 * scanned, never by the size of the ledger.
 */
@Injectable()
export class UnbilledUsageRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Up to `count` consecutive tenant ids of the ledger after `afterId` (from the first when
   * null), in the database's order, with the usage in [fromMs, toMs) of those not registered.
   * Fewer than `count` rows: the scan reached the last id.
   */
  async scan(q: {
    afterId: string | null;
    count: number;
    fromMs: number;
    toMs: number;
    timeoutMs: number;
  }): Promise<ScannedTenant[]> {
    const scanned = await this.dataSource.transaction(async (m) => {
      await execute(m, `SET TRANSACTION READ ONLY`);
      // A bound on this statement's time whatever the ledger holds (an integer, not user text).
      await execute(m, `SET LOCAL statement_timeout = ${Math.trunc(q.timeoutMs)}`);
      return rows(
        m,
        ScannedRow,
        `WITH RECURSIVE ids (tenant_id, n) AS (
           SELECT CASE WHEN $1::text IS NULL
                       THEN (SELECT min(tenant_id) FROM usage_bucket)
                       ELSE (SELECT b.tenant_id FROM usage_bucket b WHERE b.tenant_id > $1
                             ORDER BY b.tenant_id LIMIT 1)
                  END, 1
           UNION ALL
           SELECT (SELECT b.tenant_id FROM usage_bucket b WHERE b.tenant_id > ids.tenant_id
                   ORDER BY b.tenant_id LIMIT 1), ids.n + 1
           FROM ids WHERE ids.tenant_id IS NOT NULL AND ids.n < $2
         )
         SELECT i.tenant_id, t.id IS NOT NULL AS registered,
                u.cpu, u.memory, u.resources, u.first_start, u.last_start
         FROM ids i
         LEFT JOIN tenant t ON t.id = i.tenant_id
         LEFT JOIN LATERAL (
           SELECT sum(b.cpu_usage_core_seconds)::text AS cpu,
                  sum(b.memory_usage_byte_seconds)::text AS memory,
                  count(DISTINCT b.resource_id)::int AS resources,
                  min(b.bucket_start) AS first_start, max(b.bucket_start) AS last_start
           FROM usage_bucket b
           WHERE t.id IS NULL AND b.tenant_id = i.tenant_id
             AND b.bucket_start >= $3 AND b.bucket_start < $4
         ) u ON true
         WHERE i.tenant_id IS NOT NULL
         ORDER BY i.tenant_id`,
        [q.afterId, q.count, new Date(q.fromMs), new Date(q.toMs)],
      );
    });
    return scanned.map(toScanned);
  }
}

function toScanned(r: z.output<typeof ScannedRow>): ScannedTenant {
  const { cpu, memory, resources, first_start: first, last_start: last } = r;
  const usage =
    r.registered ||
    cpu === null ||
    memory === null ||
    resources === null ||
    first === null ||
    last === null
      ? null
      : {
          cpuCoreSeconds: cpu,
          memoryByteSeconds: memory,
          resources,
          firstBucketStart: first,
          lastBucketStart: last,
        };
  return { tenantId: r.tenant_id, registered: r.registered, usage };
}
