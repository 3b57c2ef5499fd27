import { type MonthPosition } from '../domain';
import { type LedgerDb } from './ledger-db';
import {
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  BUCKET_TOTALS_FROM,
  POSITION_COLUMNS,
  bucketTotalsRow,
  countRow,
  positionRow,
} from './ledger-rows';

/** What the InfluxDB backfill (sinks/influx-backfill.ts) reads: buckets and month positions. */
export class BackfillReader {
  constructor(private readonly db: LedgerDb) {}

  /** Buckets whose start lies in [fromMs, toMs): how much a backfill has to write. */
  async countBuckets(fromMs: number, toMs: number): Promise<number> {
    const rows = await this.db.rows(
      null,
      countRow,
      `SELECT count(*)::text AS n FROM usage_bucket
       WHERE bucket_start >= to_timestamp($1::numeric / 1000) AND bucket_start < to_timestamp($2::numeric / 1000)`,
      [String(fromMs), String(toMs)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The running totals of every bucket whose start lies in [fromMs, toMs), with their charges, in
   * pages, from one consistent snapshot (a cursor in a read-only REPEATABLE READ transaction), however many rows.
   */
  streamBucketTotals(
    fromMs: number,
    toMs: number,
    pageSize: number,
  ): AsyncGenerator<BucketTotals[]> {
    return this.db.snapshotPages(
      bucketTotalsRow,
      `SELECT ${BUCKET_TOTALS_COLUMNS} FROM ${BUCKET_TOTALS_FROM}
       WHERE bucket_start >= to_timestamp($1::numeric / 1000)
         AND bucket_start < to_timestamp($2::numeric / 1000)`,
      [String(fromMs), String(toMs)],
      pageSize,
    );
  }

  /** Every stored month position (the table holds one row per tenant and month). */
  allPositions(): Promise<MonthPosition[]> {
    return this.db.rows(null, positionRow, `SELECT ${POSITION_COLUMNS} FROM tenant_month_position`);
  }
}
