import { z } from 'zod';
import {
  type AmountUnits,
  type BucketUsage,
  type MonthPosition,
  type PlanAssignment,
  amount as formatAmount,
  bucketKey,
  coreSeconds,
  gibSeconds,
} from '../domain';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import {
  type BucketCursor,
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  BUCKET_TOTALS_FROM,
  BUCKET_USAGE_COLUMNS,
  bucketTotalsRow,
  bucketUsageRow,
  tenantPage,
  tenantPageParams,
} from './ledger-rows';
import { lockPositions } from './month-positions';
import { plainArray } from './pg-arrays';

const spanRow = z.object({ first_ms: z.string().nullable(), last_ms: z.string().nullable() });

/**
 * What a reprice (a plan assigned with an effective date in the past) reads and writes: a tenant's
 * buckets of a month in pages, their new charges, the month's position, and the assignments the
 * buckets are now priced with.
 */
export class RepriceStore {
  constructor(private readonly db: LedgerDb) {}

  /**
   * A month's reprice, in one REPEATABLE READ transaction (LedgerDb.snapshotTransaction: run
   * again on a serialization failure): what it drains of the month's unpriced pieces and the
   * quantities it reads are of one snapshot. A batch writes its quantities and its pieces in one
   * transaction, so the reprice sees both or neither; pieces committed after the snapshot stay
   * for the pricing stage, which prices them on top of the repriced charges
   * (docs/adr/0014-rating-scale-out.md, "The reprice's snapshot").
   */
  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.snapshotTransaction(work);
  }

  /** Locks a month's position (waits for a transaction that holds it); creates it at zero. */
  async lockPosition(tx: LedgerTx, tenantId: string, period: string): Promise<void> {
    await lockPositions(this.db, tx, [{ tenantId, period }]);
  }

  /** The first and last bucket start of a tenant from `fromMs` on; null when it has none. */
  async tenantBucketSpan(
    tenantId: string,
    fromMs: number,
  ): Promise<{ firstMs: number; lastMs: number } | null> {
    const rows = await this.db.rows(
      null,
      spanRow,
      `SELECT (extract(epoch from min(bucket_start)) * 1000)::bigint::text AS first_ms,
              (extract(epoch from max(bucket_start)) * 1000)::bigint::text AS last_ms
       FROM usage_bucket WHERE tenant_id = $1 AND bucket_start >= to_timestamp($2::numeric / 1000)`,
      [tenantId, String(fromMs)],
    );
    const r = rows[0];
    if (r?.first_ms == null || r.last_ms == null) return null;
    return { firstMs: Number(r.first_ms), lastMs: Number(r.last_ms) };
  }

  /**
   * A page of a tenant's buckets whose start lies in [fromMs, toMs), exact, in time order then
   * resource id (byte order), after `after` (keyset paging: a month of many resources never has
   * to be in memory at once).
   */
  loadTenantBucketsPage(
    tx: LedgerTx,
    tenantId: string,
    range: { fromMs: number; toMs: number },
    after: BucketCursor | null,
    limit: number,
  ): Promise<BucketUsage[]> {
    return this.db.rows(
      tx,
      bucketUsageRow,
      `SELECT ${BUCKET_USAGE_COLUMNS} ${tenantPage('usage_bucket')}`,
      tenantPageParams(tenantId, range, after, limit),
    );
  }

  /**
   * Replaces the charges of repriced buckets (`usage_bucket_charge`: the caller holds the month's
   * lease, the one lock under which charges are written; the buckets' rows are not touched).
   */
  async storeRepricedBuckets(
    tx: LedgerTx,
    tenantId: string,
    amounts: ReadonlyMap<string, AmountUnits>,
    buckets: readonly BucketUsage[],
  ): Promise<void> {
    if (buckets.length === 0) return;
    await this.db.execute(
      tx,
      `INSERT INTO usage_bucket_charge (tenant_id, resource_id, bucket_start, amount, updated_at)
       SELECT $1, x.r, to_timestamp(x.s / 1000), x.a, now()
       FROM unnest($2::text[], $3::numeric[], $4::numeric[]) AS x(r, s, a)
       ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
         amount = EXCLUDED.amount, updated_at = now()`,
      [
        tenantId,
        buckets.map((b) => b.resourceId),
        plainArray(buckets.map((b) => String(b.bucketStartMs))),
        plainArray(buckets.map((b) => formatAmount(amounts.get(bucketKey(b)) ?? 0n))),
      ],
    );
  }

  /**
   * Replaces a repriced month's position (locked by lockPosition in this transaction), or
   * deletes it when no plan prices the month.
   */
  async storeRepricedPosition(
    tx: LedgerTx,
    tenantId: string,
    period: string,
    position: MonthPosition | null,
  ): Promise<void> {
    if (position === null) {
      await this.db.execute(
        tx,
        `DELETE FROM tenant_month_position WHERE tenant_id = $1 AND period = $2`,
        [tenantId, period],
      );
      return;
    }
    await this.db.execute(
      tx,
      `UPDATE tenant_month_position SET cpu_core_seconds = $3, memory_gib_seconds = $4,
         cpu_amount = $5, memory_amount = $6, updated_at = now()
       WHERE tenant_id = $1 AND period = $2`,
      [
        tenantId,
        period,
        coreSeconds(position.cpu),
        gibSeconds(position.memory),
        formatAmount(position.cpuAmount),
        formatAmount(position.memoryAmount),
      ],
    );
  }

  /** A page of a tenant's bucket totals in [fromMs, toMs), in the order of loadTenantBucketsPage. */
  tenantBucketTotalsPage(
    tenantId: string,
    range: { fromMs: number; toMs: number },
    after: BucketCursor | null,
    limit: number,
  ): Promise<BucketTotals[]> {
    return this.db.rows(
      null,
      bucketTotalsRow,
      `SELECT ${BUCKET_TOTALS_COLUMNS} ${tenantPage(BUCKET_TOTALS_FROM)}`,
      tenantPageParams(tenantId, range, after, limit),
    );
  }

  /** Records the assignments a tenant's buckets are now priced with (replacing the earlier). */
  async storePricedAssignments(
    tenantId: string,
    assignments: readonly PlanAssignment[],
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Rating processes that noticed the same change store it in turns (else both insert the
      // rows the other's uncommitted delete-and-insert could not show them: a duplicate key).
      await this.db.execute(
        tx,
        `SELECT pg_advisory_xact_lock(hashtext('rating_priced_assignment'), hashtext($1))`,
        [tenantId],
      );
      await this.db.execute(tx, `DELETE FROM rating_priced_assignment WHERE tenant_id = $1`, [
        tenantId,
      ]);
      if (assignments.length === 0) return;
      await this.db.execute(
        tx,
        `INSERT INTO rating_priced_assignment (tenant_id, effective_from, plan_id, plan_version)
         SELECT $1, to_timestamp(f::numeric / 1000), p, v
         FROM unnest($2::text[], $3::text[], $4::int[]) AS x(f, p, v)`,
        [
          tenantId,
          assignments.map((a) => String(a.effectiveFromMs)),
          assignments.map((a) => a.planId),
          assignments.map((a) => a.planVersion),
        ],
      );
    });
  }
}
