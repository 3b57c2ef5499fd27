import { z } from 'zod';
import {
  type MonthPosition,
  type PricedUsage,
  type UnpricedPiece,
  amount as formatAmount,
  coreSeconds,
  gibSeconds,
  positionKey,
} from '../domain';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import {
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  POSITION_COLUMNS,
  bucketTotalsRow,
  positionRow,
  storedPiece,
  storedWindow,
  windowToJson,
} from './ledger-rows';
import { plainArray, textArray } from './pg-arrays';

/** A tenant's month, as a position (and the pricing stage's lease) is keyed. */
export interface MonthKey {
  readonly tenantId: string;
  readonly period: string;
}

/** The unpriced pieces of a pass's months: their rows in id order, their pieces by month. */
export interface PiecePages {
  /** The rows the pieces came from (a batch's pieces of a month each). */
  readonly ids: readonly string[];
  /** Pieces on the pages, all months together. */
  readonly count: number;
  /** By positionKey: each month's pieces in order, and the open windows of their instances. */
  readonly months: ReadonlyMap<string, MonthPage>;
}

/** One month's part of a pass's pages. */
export interface MonthPage {
  readonly pieces: UnpricedPiece[];
  readonly windows: PricedUsage[];
}

/** An instance's window of a month, as rating_open_window is keyed. */
export interface WindowKey {
  readonly resourceId: string;
  readonly instanceId: string;
  readonly period: string;
}

/** A bucket's charge to add, keyed as the bucket. */
// Statements whose rows are read are SELECTs (a CTE around UPDATE/DELETE … RETURNING): TypeORM
// hands back [rows, count] for a top-level UPDATE or DELETE.
export interface BucketAmount {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly bucketStartMs: number;
  readonly amount: bigint;
}

const pageRow = z.object({
  id: z.string().nullable(),
  pieces: z.array(storedPiece).nullable(),
  window: storedWindow.nullable(),
});
const windowRow = z.object({ window: storedWindow });
const workRow = z
  .object({
    tenant_id: z.string(),
    period: z.string(),
    age: z.string().nullable(),
    due: z.string().nullable(),
  })
  .transform((r) => ({
    tenantId: r.tenant_id,
    period: r.period,
    ageSeconds: Number(r.age ?? 0),
    dueSeconds: Number(r.due ?? 0),
  }));

/** A month with work for the sweep. */
export interface MonthWork {
  readonly tenantId: string;
  readonly period: string;
  /** Age of the month's oldest unpriced piece, seconds (0: only idle windows). */
  readonly ageSeconds: number;
  /** How long its work has been due: past `minAgeMs` (pieces) or `idleMs` (windows), seconds. */
  readonly dueSeconds: number;
}

/**
 * The pricing stage's rows (docs/adr/0014-rating-scale-out.md): the lease of a tenant month (the
 * row lock on its `tenant_month_position`, taken with SKIP LOCKED: nobody waits for it), its
 * unpriced pieces, the instances' open windows of the month, and what a pass writes back — the
 * buckets' charges (`usage_bucket_charge`, never the batches' bucket rows), the moved position,
 * the windows — all in the pass's transaction.
 */
export class PricingStore {
  constructor(private readonly db: LedgerDb) {}

  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Creates the months' position rows not there yet, in a statement of its own (it commits at
   * once: a lease taken later never waits on another's first insert). Only where the statement's
   * snapshot shows no row does it insert: an INSERT … ON CONFLICT that meets the row while another
   * instance's pass has updated it (its lease held, the position moved, not committed) waits for
   * that pass to end, and the month is held anyway (the lease skips it). Two first inserts of one
   * month at once still meet (one waits for the other's autocommit).
   */
  async ensureMonths(keys: readonly MonthKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.execute(
      null,
      `INSERT INTO tenant_month_position (tenant_id, period)
       SELECT k.t, k.p FROM unnest($1::text[], $2::char(7)[]) AS k(t, p)
       WHERE NOT EXISTS (
         SELECT 1 FROM tenant_month_position m WHERE m.tenant_id = k.t AND m.period = k.p)
       ORDER BY 1, 2
       ON CONFLICT DO NOTHING`,
      monthArrays(keys),
    );
  }

  /**
   * Takes the months' leases for the rest of the transaction (in key order) and returns their
   * positions by positionKey; a month another transaction holds (`wait` false: SKIP LOCKED, never
   * waits) or whose row is missing is not in it. `wait` true (the reprice, off the hot path) waits
   * for the holders.
   */
  async leaseMonths(
    tx: LedgerTx,
    keys: readonly MonthKey[],
    wait: boolean,
  ): Promise<Map<string, MonthPosition>> {
    const leased = new Map<string, MonthPosition>();
    if (keys.length === 0) return leased;
    const rows = await this.db.rows(
      tx,
      positionRow,
      `SELECT ${POSITION_COLUMNS} FROM tenant_month_position
       WHERE (tenant_id, period) IN (SELECT * FROM unnest($1::text[], $2::char(7)[]))
       ORDER BY tenant_id, period
       FOR UPDATE${wait ? '' : ' SKIP LOCKED'}`,
      monthArrays(keys),
    );
    for (const p of rows) leased.set(positionKey(p.tenantId, p.period), p);
    return leased;
  }

  /**
   * The months' oldest unpriced pieces, by month, and the open windows of their instances in
   * those months: one statement (a round trip is a wake-up of the backend, which takes a core
   * from rating on a small machine: docs/adr/0014). Rows are taken in id order across the months
   * while the pieces before them number fewer than `limit` (a row is a batch's pieces of a month:
   * the pages may pass `limit` by the last row's, never by more), so each month's are its oldest.
   * A row of the old shape (one piece, an object) is read as a row of one. One snapshot for both
   * is as two: under the leases nobody else writes the months' windows, and a piece committed
   * after it is the next pass's.
   */
  async unpricedPages(tx: LedgerTx, keys: readonly MonthKey[], limit: number): Promise<PiecePages> {
    const rows = await this.db.rows(
      tx,
      pageRow,
      `WITH candidates AS (
         SELECT c.id, c.n FROM unnest($1::text[], $2::char(7)[]) AS m(tenant_id, period)
         CROSS JOIN LATERAL (
           SELECT u.id, coalesce(u.piece_count, 1) AS n FROM rating_unpriced_usage u
           WHERE u.tenant_id = m.tenant_id AND u.period = m.period ORDER BY u.id LIMIT $3
         ) AS c
       ), counted AS (
         SELECT id, n, sum(n) OVER (ORDER BY id) AS upto FROM candidates
       ), page AS (
         SELECT u.id, u.period, CASE jsonb_typeof(u.piece) WHEN 'array' THEN u.piece
                                ELSE jsonb_build_array(u.piece) END AS pieces
         FROM rating_unpriced_usage u JOIN counted c ON c.id = u.id AND c.upto - c.n < $3
       )
       SELECT x.id::text AS id, x.pieces, x."window" FROM (
         SELECT id, pieces, NULL::jsonb AS "window" FROM page
         UNION ALL
         SELECT NULL::bigint, NULL::jsonb, w."window" FROM rating_open_window w
         WHERE (w.resource_id, w.instance_id, w.period) IN (
           SELECT p ->> 'resourceId', p ->> 'instanceId', page.period
           FROM page, jsonb_array_elements(page.pieces) AS p)
       ) AS x ORDER BY x.id NULLS LAST`,
      [...monthArrays(keys), limit],
    );
    const ids: string[] = [];
    const months = new Map<string, MonthPage>();
    const monthOf = (tenantId: string, period: string): MonthPage => {
      const id = positionKey(tenantId, period);
      let month = months.get(id);
      if (month === undefined) months.set(id, (month = { pieces: [], windows: [] }));
      return month;
    };
    let count = 0;
    for (const r of rows) {
      if (r.id !== null && r.pieces !== null) {
        ids.push(r.id);
        for (const p of r.pieces) monthOf(p.tenantId, p.period).pieces.push(p);
        count += r.pieces.length;
      } else if (r.window !== null)
        monthOf(r.window.tenantId, r.window.period).windows.push(r.window);
    }
    return { ids, count, months };
  }

  /**
   * What a pass settles, in one statement: adds the charges to the buckets' charge rows
   * (`usage_bucket_charge`, created at the first charge) and returns the buckets' totals after
   * the addition, stores the moved positions (`moved`) and deletes the priced pieces' rows by id
   * (not by range: a row committed late is priced next pass). The charge rows of a month are
   * written only under its lease (this pass, or a reprice that waited for it), so nothing else
   * holds them; the bucket rows, the batches', are read and not locked, so a batch adding
   * quantities to them never waits for a pass (docs/adr/0014-rating-scale-out.md). Charges of
   * buckets that are not there (none: a piece commits with its bucket) are left out. The three
   * write three tables: no row is written twice in the statement.
   */
  async settleMonths(
    tx: LedgerTx,
    settled: {
      /** In bucket key order (byBucketKey): the order the charge rows are locked in. */
      readonly amounts: readonly BucketAmount[];
      readonly moved: readonly MonthPosition[];
      readonly pieceRows: readonly string[];
    },
  ): Promise<BucketTotals[]> {
    const { amounts, moved, pieceRows } = settled;
    if (amounts.length === 0 && moved.length === 0 && pieceRows.length === 0) return [];
    return this.db.rows(
      tx,
      bucketTotalsRow,
      `WITH priced AS (
         DELETE FROM rating_unpriced_usage WHERE id = ANY($5::bigint[])
       ), moved AS (
         UPDATE tenant_month_position p SET cpu_core_seconds = x.c, memory_gib_seconds = x.m,
           cpu_amount = x.ca, memory_amount = x.ma, updated_at = now()
         FROM unnest($6::text[], $7::char(7)[], $8::numeric[], $9::numeric[], $10::numeric[],
                     $11::numeric[]) AS x(t, p, c, m, ca, ma)
         WHERE p.tenant_id = x.t AND p.period = x.p
       ), charged AS (
         INSERT INTO usage_bucket_charge AS c (tenant_id, resource_id, bucket_start, amount,
           updated_at)
         SELECT b.tenant_id, b.resource_id, b.bucket_start, x.a, now()
         FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[])
           WITH ORDINALITY AS x(t, r, s, a, n)
         JOIN usage_bucket b ON b.tenant_id = x.t AND b.resource_id = x.r
           AND b.bucket_start = to_timestamp(x.s / 1000)
         ORDER BY x.n
         ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
           amount = c.amount + EXCLUDED.amount, updated_at = now()
         RETURNING c.tenant_id, c.resource_id, c.bucket_start, c.amount
       )
       SELECT ${BUCKET_TOTALS_COLUMNS}
       FROM usage_bucket JOIN charged USING (tenant_id, resource_id, bucket_start)`,
      [
        textArray(amounts.map((a) => a.tenantId)),
        textArray(amounts.map((a) => a.resourceId)),
        plainArray(amounts.map((a) => String(a.bucketStartMs))),
        plainArray(amounts.map((a) => formatAmount(a.amount))),
        pieceRows,
        ...monthArrays(moved),
        plainArray(moved.map((m) => coreSeconds(m.cpu))),
        plainArray(moved.map((m) => gibSeconds(m.memory))),
        plainArray(moved.map((m) => formatAmount(m.cpuAmount))),
        plainArray(moved.map((m) => formatAmount(m.memoryAmount))),
      ],
    );
  }

  /** Deletes the months' position rows (leased in this transaction): months no plan prices. */
  async dropMonths(tx: LedgerTx, keys: readonly MonthKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.execute(
      tx,
      `DELETE FROM tenant_month_position
       WHERE (tenant_id, period) IN (SELECT * FROM unnest($1::text[], $2::char(7)[]))`,
      monthArrays(keys),
    );
  }

  /**
   * Stores open windows (upserted, each in its own month) and removes the closed ones, in one
   * statement (one round trip); an instance's window of a month is either open or shut, so no row
   * is written twice in it.
   */
  async storeWindows(
    tx: LedgerTx,
    open: readonly PricedUsage[],
    shut: readonly WindowKey[],
  ): Promise<void> {
    if (shut.length === 0 && open.length === 0) return;
    await this.db.execute(
      tx,
      `WITH shut AS (
         DELETE FROM rating_open_window w
         USING unnest($1::text[], $2::text[], $3::char(7)[]) AS k(r, i, p)
         WHERE w.resource_id = k.r AND w.instance_id = k.i AND w.period = k.p
       )
       INSERT INTO rating_open_window AS w (resource_id, instance_id, period, tenant_id,
         "window", updated_at)
       SELECT p ->> 'resourceId', p ->> 'instanceId', p ->> 'period', p ->> 'tenantId', p, now()
       FROM jsonb_array_elements($4::jsonb) AS x(p)
       ON CONFLICT (resource_id, instance_id, period) DO UPDATE SET
         "window" = EXCLUDED."window", updated_at = now()`,
      [
        textArray(shut.map((s) => s.resourceId)),
        textArray(shut.map((s) => s.instanceId)),
        textArray(shut.map((s) => s.period)),
        JSON.stringify(open.map(windowToJson)),
      ],
    );
  }

  /**
   * Takes the months' open windows not updated for `idleMs` (their instances stopped without a
   * final sample, or their samples stopped coming), under the months' leases: deleted here, the
   * caller puts them in the outbox in the same transaction.
   */
  async takeIdleWindows(
    tx: LedgerTx,
    keys: readonly MonthKey[],
    idleMs: number,
  ): Promise<PricedUsage[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.rows(
      tx,
      windowRow,
      `WITH taken AS (
         DELETE FROM rating_open_window w USING unnest($1::text[], $2::char(7)[]) AS k(t, p)
         WHERE w.tenant_id = k.t AND w.period = k.p
           AND w.updated_at < now() - $3::numeric * interval '1 ms'
         RETURNING w."window"
       )
       SELECT "window" FROM taken`,
      [...monthArrays(keys), String(idleMs)],
    );
    return rows.map((r) => r.window);
  }

  /**
   * The months with work: unpriced pieces at least `minAgeMs` old, and open windows idle for
   * `idleMs`; with the age of the oldest piece and how long the work has been due. One row per
   * month, the oldest pieces first.
   */
  monthsWithWork(minAgeMs: number, idleMs: number): Promise<MonthWork[]> {
    return this.db.rows(
      null,
      workRow,
      `SELECT tenant_id, period::text AS period, max(age)::text AS age, max(due)::text AS due
       FROM (
         SELECT tenant_id, period, extract(epoch from now() - min(created_at)) AS age,
                extract(epoch from now() - min(created_at)) - $1::numeric / 1000 AS due
         FROM rating_unpriced_usage GROUP BY 1, 2
         HAVING min(created_at) <= now() - $1::numeric * interval '1 ms'
         UNION ALL
         SELECT tenant_id, period, 0,
                extract(epoch from now() - min(updated_at)) - $2::numeric / 1000
         FROM rating_open_window
         WHERE updated_at < now() - $2::numeric * interval '1 ms'
         GROUP BY 1, 2
       ) AS m GROUP BY 1, 2 ORDER BY 3 DESC`,
      [String(minAgeMs), String(idleMs)],
    );
  }

  /** Age of the oldest unpriced piece, seconds (0: none): rating_pricing_lag_seconds. */
  async oldestUnpricedSeconds(): Promise<number> {
    const rows = await this.db.rows(
      null,
      z.object({ age: z.string().nullable() }),
      `SELECT extract(epoch from now() - min(created_at))::text AS age FROM rating_unpriced_usage`,
    );
    return Number(rows[0]?.age ?? 0);
  }
}

/** The months' tenants and periods, as two arrays (text, and periods as `char(7)` take them). */
function monthArrays(keys: readonly MonthKey[]): [string, string] {
  return [textArray(keys.map((k) => k.tenantId)), textArray(keys.map((k) => k.period))];
}
