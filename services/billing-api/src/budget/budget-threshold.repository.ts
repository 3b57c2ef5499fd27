import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { execute, firstRow, rows } from '../common/sql-rows';

export interface ThresholdRow {
  readonly id: string;
  readonly tenantId: string;
  /** Exact decimal text, as NUMERIC stores it (`100.00`). */
  readonly amount: string;
  readonly createdBy: 'admin' | 'tenant';
  readonly createdAt: Date;
}

export interface CrossingRecord {
  readonly thresholdId: string;
  readonly tenantId: string;
  readonly period: string;
  readonly thresholdAmount: string;
  readonly amount: string;
  readonly currency: string;
  readonly eventId: string;
  readonly crossedAtMs: number;
}

const ThresholdRaw = z.object({
  id: z.string(),
  tenant_id: z.string(),
  amount: z.string(),
  created_by: z.enum(['admin', 'tenant']),
  created_at: z.date(),
});
const toRow = (r: z.output<typeof ThresholdRaw>): ThresholdRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  amount: r.amount,
  createdBy: r.created_by,
  createdAt: r.created_at,
});
const CountRow = z.object({ n: z.number().int(), same: z.boolean() });
const IdRow = z.object({ id: z.string() });
const TenantIdRow = z.object({ tenant_id: z.string() });
const ThresholdIdRow = z.object({ threshold_id: z.string() });
const CrossingRow = z.object({ threshold_id: z.string(), crossed_at: z.date() });
const COLUMNS = `id, tenant_id, amount::text AS amount, created_by, created_at`;

/** The SQL of budget thresholds and their crossings (`budget_threshold`, `budget_crossing`). */
@Injectable()
export class BudgetThresholdRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(tenantId: string): Promise<ThresholdRow[]> {
    const found = await rows(
      this.dataSource,
      ThresholdRaw,
      `SELECT ${COLUMNS} FROM budget_threshold WHERE tenant_id = $1 ORDER BY amount, id`,
      [tenantId],
    );
    return found.map(toRow);
  }

  /** Thresholds of many tenants at once, in amount order per tenant. */
  async ofTenants(tenantIds: readonly string[]): Promise<ThresholdRow[]> {
    const found = await rows(
      this.dataSource,
      ThresholdRaw,
      `SELECT ${COLUMNS} FROM budget_threshold WHERE tenant_id = ANY ($1) ORDER BY tenant_id, amount, id`,
      [tenantIds],
    );
    return found.map(toRow);
  }

  /**
   * Inserts unless the tenant has a threshold of this amount (`'exists'`; the unique constraint
   * decides between concurrent ones) or already `limit` of them (`'limit'`). The tenant's row is
   * locked (FOR NO KEY UPDATE: other rows referring to it are not held up) so concurrent
   * creations count each other.
   */
  async insert(t: {
    id: string;
    tenantId: string;
    amount: string;
    createdBy: 'admin' | 'tenant';
    limit: number;
  }): Promise<ThresholdRow | 'exists' | 'limit'> {
    return this.dataSource.transaction(async (tx) => {
      await execute(tx, `SELECT 1 FROM tenant WHERE id = $1 FOR NO KEY UPDATE`, [t.tenantId]);
      const state = await firstRow(
        tx,
        CountRow,
        `SELECT count(*)::int AS n, coalesce(bool_or(amount = $2::numeric), false) AS same
         FROM budget_threshold WHERE tenant_id = $1`,
        [t.tenantId, t.amount],
      );
      if (state?.same === true) return 'exists' as const;
      if ((state?.n ?? 0) >= t.limit) return 'limit' as const;
      const row = await firstRow(
        tx,
        ThresholdRaw,
        `INSERT INTO budget_threshold (id, tenant_id, amount, created_by)
         VALUES ($1, $2, $3::numeric, $4)
         ON CONFLICT (tenant_id, amount) DO NOTHING
         RETURNING ${COLUMNS}`,
        [t.id, t.tenantId, t.amount, t.createdBy],
      );
      return row === null ? ('exists' as const) : toRow(row);
    });
  }

  /** True when the tenant had it. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const deleted = await rows(
      this.dataSource,
      IdRow,
      `DELETE FROM budget_threshold WHERE tenant_id = $1 AND id = $2 RETURNING id`,
      [tenantId, id],
    );
    return deleted.length > 0;
  }

  /** Tenants that have thresholds, in id order after `afterId` (keyset pages). */
  async tenantIdsWithThresholds(afterId: string | null, limit: number): Promise<string[]> {
    const found = await rows(
      this.dataSource,
      TenantIdRow,
      `SELECT DISTINCT tenant_id FROM budget_threshold
       WHERE $1::text IS NULL OR tenant_id > $1
       ORDER BY tenant_id LIMIT $2`,
      [afterId, limit],
    );
    return found.map((r) => r.tenant_id);
  }

  /** Ids of the thresholds already crossed, per (tenant, period) asked for. */
  async crossedIn(keys: readonly { tenantId: string; period: string }[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const found = await rows(
      this.dataSource,
      ThresholdIdRow,
      `SELECT c.threshold_id FROM budget_crossing c
       JOIN unnest($1::text[], $2::text[]) AS k (tenant_id, period)
         ON c.tenant_id = k.tenant_id AND c.period = k.period`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.period)],
    );
    return new Set(found.map((r) => r.threshold_id));
  }

  /**
   * Records a crossing in the caller's transaction unless the threshold was already crossed in
   * that month (primary key): true when this call recorded it, so the caller writes the event.
   * A concurrent insert of the same crossing waits for the other transaction and then finds it.
   * A threshold deleted meanwhile records nothing (the foreign key's row is gone).
   */
  async recordCrossing(tx: EntityManager, c: CrossingRecord): Promise<boolean> {
    const recorded = await rows(
      tx,
      ThresholdIdRow,
      `INSERT INTO budget_crossing (threshold_id, period, tenant_id, threshold_amount, amount,
         currency, event_id, crossed_at)
       SELECT $1, $2, $3, $4::numeric, $5::numeric, $6, $7, $8
       WHERE EXISTS (SELECT 1 FROM budget_threshold WHERE id = $1)
       ON CONFLICT (threshold_id, period) DO NOTHING
       RETURNING threshold_id`,
      [
        c.thresholdId,
        c.period,
        c.tenantId,
        c.thresholdAmount,
        c.amount,
        c.currency,
        c.eventId,
        new Date(c.crossedAtMs),
      ],
    );
    return recorded.length > 0;
  }

  /** Crossings of a tenant's month (the list shows which thresholds this month reached). */
  async crossingsOf(tenantId: string, period: string): Promise<Map<string, Date>> {
    const found = await rows(
      this.dataSource,
      CrossingRow,
      `SELECT threshold_id, crossed_at FROM budget_crossing WHERE tenant_id = $1 AND period = $2`,
      [tenantId, period],
    );
    return new Map(found.map((r) => [r.threshold_id, r.crossed_at]));
  }
}
