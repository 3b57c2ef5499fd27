import { z } from 'zod';
import {
  type MonthPosition,
  type PricedUsage,
  type UnpricedPiece,
  amount as formatAmount,
  coreSeconds,
  gibSeconds,
} from '../domain';
import { type LedgerDb, type LedgerTx, LedgerRowError } from './ledger-db';
import {
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  POSITION_COLUMNS,
  bucketTotalsRow,
  positionRow,
  storedWindow,
  windowToJson,
} from './ledger-rows';
import { plainArray } from './pg-arrays';
import { piecesOfRow } from './stored-pieces';
import { type WrittenPieces } from './written-pieces';

/** A tenant's month, as a position (and the pricing stage's lease) is keyed. */
export interface MonthKey {
  readonly tenantId: string;
  readonly period: string;
}

/** A page of a month's unpriced pieces: its rows in id order, their pieces in order. */
export interface PiecePage {
  /** The rows the pieces came from (a batch's pieces of the month each). */
  readonly ids: readonly string[];
  readonly pieces: readonly UnpricedPiece[];
  /** The open windows of the month of the pieces' instances. */
  readonly windows: readonly PricedUsage[];
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
  // Read by piecesOfRow (stored-pieces.ts), not by zod's parse of every part.
  pieces: z.unknown(),
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
  /** @param written the piece rows this process's batches inserted (their pieces not read back). */
  constructor(
    private readonly db: LedgerDb,
    private readonly written: WrittenPieces | null = null,
  ) {}

  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Creates the month's position row if it is not there yet, in a statement of its own (it
   * commits at once: a lease taken later never waits on another's first insert). Only where the
   * statement's snapshot shows no row does it insert: an INSERT … ON CONFLICT that meets the row
   * while another instance's pass has updated it (its lease held, the position moved, not
   * committed) waits for that pass to end, and the month is held anyway (the lease skips it).
   * Two first inserts of one month at once still meet (one waits for the other's autocommit).
   */
  async ensureMonth(key: MonthKey): Promise<void> {
    await this.db.execute(
      null,
      `INSERT INTO tenant_month_position (tenant_id, period)
       SELECT $1, $2 WHERE NOT EXISTS (
         SELECT 1 FROM tenant_month_position WHERE tenant_id = $1 AND period = $2)
       ON CONFLICT DO NOTHING`,
      [key.tenantId, key.period],
    );
  }

  /**
   * Takes the month's lease for the rest of the transaction and returns its position; null when
   * another transaction holds it (`wait` false: SKIP LOCKED, never waits) or the row is missing.
   * `wait` true (the reprice, off the hot path) waits for the holder.
   */
  async lease(tx: LedgerTx, key: MonthKey, wait: boolean): Promise<MonthPosition | null> {
    const rows = await this.db.rows(
      tx,
      positionRow,
      `SELECT ${POSITION_COLUMNS} FROM tenant_month_position
       WHERE tenant_id = $1 AND period = $2
       FOR UPDATE${wait ? '' : ' SKIP LOCKED'}`,
      [key.tenantId, key.period],
    );
    return rows[0] ?? null;
  }

  /**
   * The month's oldest unpriced pieces, in row (id) order, and the open windows of the month of
   * their instances: one statement (a round trip is a wake-up of the backend, which takes a core
   * from rating on a small machine: docs/adr/0014). Rows are taken while the pieces before them
   * number fewer than `limit` (a row is a batch's pieces of the month: the page may pass `limit`
   * by the last row's, never by more). A row of the old shape (one piece, an object) is read as a
   * row of one. One snapshot for both is as two: under the lease nobody else writes the month's
   * windows, and a piece committed after it is the next pass's. The pieces of rows this process
   * inserted and holds (WrittenPieces) are not sent: they are taken from what it holds.
   */
  async unpricedPage(tx: LedgerTx, key: MonthKey, limit: number): Promise<PiecePage> {
    const held = this.written?.heldOf(key) ?? new Map<string, readonly UnpricedPiece[]>();
    const rows = await this.db.rows(
      tx,
      pageRow,
      `WITH counted AS (
         SELECT id, n, sum(n) OVER (ORDER BY id) AS upto FROM (
           SELECT id, coalesce(piece_count, 1) AS n FROM rating_unpriced_usage
           WHERE tenant_id = $1 AND period = $2 ORDER BY id LIMIT $3
         ) AS m
       ), page AS (
         SELECT u.id, CASE jsonb_typeof(u.piece) WHEN 'array' THEN u.piece
                      ELSE jsonb_build_array(u.piece) END AS pieces
         FROM rating_unpriced_usage u JOIN counted c ON c.id = u.id AND c.upto - c.n < $3
       )
       SELECT x.id::text AS id, x.pieces, x."window" FROM (
         SELECT id, CASE WHEN id = ANY($4::bigint[]) THEN NULL ELSE pieces END AS pieces,
           NULL::jsonb AS "window" FROM page
         UNION ALL
         SELECT NULL::bigint, NULL::jsonb, w."window" FROM rating_open_window w
         WHERE w.tenant_id = $1 AND w.period = $2
           AND (w.resource_id, w.instance_id) IN (
             SELECT p ->> 'resourceId', p ->> 'instanceId'
             FROM page, jsonb_array_elements(page.pieces) AS p)
       ) AS x ORDER BY x.id NULLS LAST`,
      [key.tenantId, key.period, limit, plainArray([...held.keys()])],
    );
    const ids: string[] = [];
    const pieces: UnpricedPiece[] = [];
    const windows: PricedUsage[] = [];
    for (const r of rows) {
      if (r.id !== null) {
        ids.push(r.id);
        const own = r.pieces === null ? held.get(r.id) : undefined;
        if (r.pieces === null && own === undefined)
          throw new LedgerRowError(`unpriced row ${r.id} came without its pieces`);
        for (const p of own ?? piecesOfRow(r.pieces)) pieces.push(p);
      } else if (r.window !== null) windows.push(r.window);
    }
    this.written?.pageRead(key, held.keys(), ids, pieces.length < limit);
    return { ids, pieces, windows };
  }

  /**
   * What a pass settles, in one statement: adds the charges to the buckets' charge rows
   * (`usage_bucket_charge`, created at the first charge) and returns the buckets' totals after
   * the addition, stores the moved position (`moved`; null: it did not move) and deletes the
   * priced pieces' rows by id (not by range: a row committed late is priced next pass). The charge
   * rows of a month are written only under its lease (this pass, or a reprice that waited for
   * it), so nothing else holds them; the bucket rows, the batches', are read and not locked, so a
   * batch adding quantities to them never waits for a pass (docs/adr/0014-rating-scale-out.md).
   * Charges of buckets that are not there (none: a piece commits with its bucket) are left out.
   * The three write three tables: no row is written twice in the statement.
   */
  async settle(
    tx: LedgerTx,
    key: MonthKey,
    settled: {
      readonly amounts: readonly BucketAmount[];
      readonly moved: MonthPosition | null;
      readonly pieceRows: readonly string[];
    },
  ): Promise<BucketTotals[]> {
    const { amounts, moved, pieceRows } = settled;
    if (amounts.length === 0 && moved === null && pieceRows.length === 0) return [];
    // Deleted here (or, should this roll back, read from the table again).
    this.written?.forget(key, pieceRows);
    return this.db.rows(
      tx,
      bucketTotalsRow,
      `WITH priced AS (
         DELETE FROM rating_unpriced_usage WHERE id = ANY($5::bigint[])
       ), moved AS (
         UPDATE tenant_month_position SET cpu_core_seconds = $8, memory_gib_seconds = $9,
           cpu_amount = $10, memory_amount = $11, updated_at = now()
         WHERE tenant_id = $6 AND period = $7 AND $12::boolean
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
        amounts.map((a) => a.tenantId),
        amounts.map((a) => a.resourceId),
        plainArray(amounts.map((a) => String(a.bucketStartMs))),
        plainArray(amounts.map((a) => formatAmount(a.amount))),
        pieceRows,
        key.tenantId,
        key.period,
        moved === null ? '0' : coreSeconds(moved.cpu),
        moved === null ? '0' : gibSeconds(moved.memory),
        moved === null ? '0' : formatAmount(moved.cpuAmount),
        moved === null ? '0' : formatAmount(moved.memoryAmount),
        moved !== null,
      ],
    );
  }

  /** Deletes the month's position row (leased in this transaction): a month no plan prices. */
  async dropMonth(tx: LedgerTx, key: MonthKey): Promise<void> {
    await this.db.execute(
      tx,
      `DELETE FROM tenant_month_position WHERE tenant_id = $1 AND period = $2`,
      [key.tenantId, key.period],
    );
  }

  /** Stores the month's open windows (upserted) and removes the closed ones (null). */
  async storeWindows(
    tx: LedgerTx,
    key: MonthKey,
    windows: ReadonlyMap<string, PricedUsage | null>,
    instances: ReadonlyMap<string, { resourceId: string; instanceId: string }>,
  ): Promise<void> {
    const open: PricedUsage[] = [];
    const shut: { resourceId: string; instanceId: string }[] = [];
    for (const [k, w] of windows) {
      if (w !== null) open.push(w);
      else {
        const i = instances.get(k);
        if (i !== undefined) shut.push(i);
      }
    }
    if (shut.length === 0 && open.length === 0) return;
    // One statement (one round trip); an instance is either open or shut, so no row is written
    // twice in it.
    await this.db.execute(
      tx,
      `WITH shut AS (
         DELETE FROM rating_open_window w USING unnest($3::text[], $4::text[]) AS k(r, i)
         WHERE w.resource_id = k.r AND w.instance_id = k.i AND w.tenant_id = $1
           AND w.period = $2
       )
       INSERT INTO rating_open_window AS w (resource_id, instance_id, period, tenant_id,
         "window", updated_at)
       SELECT p ->> 'resourceId', p ->> 'instanceId', $2, $1, p, now()
       FROM jsonb_array_elements($5::jsonb) AS x(p)
       ON CONFLICT (resource_id, instance_id, period) DO UPDATE SET
         "window" = EXCLUDED."window", updated_at = now()`,
      [
        key.tenantId,
        key.period,
        shut.map((s) => s.resourceId),
        shut.map((s) => s.instanceId),
        JSON.stringify(open.map(windowToJson)),
      ],
    );
  }

  /**
   * Takes the month's open windows not updated for `idleMs` (their instances stopped without a
   * final sample, or their samples stopped coming), under the month's lease: deleted here, the
   * caller puts them in the outbox in the same transaction.
   */
  async takeIdleWindows(tx: LedgerTx, key: MonthKey, idleMs: number): Promise<PricedUsage[]> {
    const rows = await this.db.rows(
      tx,
      windowRow,
      `WITH taken AS (
         DELETE FROM rating_open_window
         WHERE tenant_id = $1 AND period = $2
           AND updated_at < now() - $3::numeric * interval '1 ms'
         RETURNING "window"
       )
       SELECT "window" FROM taken`,
      [key.tenantId, key.period, String(idleMs)],
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
