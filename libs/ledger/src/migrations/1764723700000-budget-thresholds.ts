import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Budget alerts (issue 16 item 4).
 *
 * - `budget_threshold`: monthly amount thresholds of a tenant, in its currency; one per amount
 *   (`UNIQUE (tenant_id, amount)` on NUMERIC, so `100` and `100.00` are the same threshold).
 * - `budget_crossing`: one row per threshold and month it was reached (primary key), inserted in
 *   the transaction that writes `budget.threshold_reached` to `event_outbox`: of two billing-api
 *   instances seeing the same crossing, the second insert finds the row and writes no event.
 *   Deleting a threshold deletes its crossings (the events stay in the outbox).
 */
export class BudgetThresholds1764723700000 implements MigrationInterface {
  name = 'BudgetThresholds1764723700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE budget_threshold (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
        amount numeric NOT NULL CHECK (amount > 0),
        created_by text NOT NULL CHECK (created_by IN ('admin', 'tenant')),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, amount)
      )`);
    await q.query(`
      CREATE TABLE budget_crossing (
        threshold_id text NOT NULL REFERENCES budget_threshold (id) ON DELETE CASCADE,
        period text NOT NULL,
        tenant_id text NOT NULL,
        threshold_amount numeric NOT NULL,
        amount numeric NOT NULL,
        currency text NOT NULL,
        event_id text NOT NULL,
        crossed_at timestamptz NOT NULL,
        PRIMARY KEY (threshold_id, period)
      )`);
    await q.query(`CREATE INDEX budget_crossing_tenant ON budget_crossing (tenant_id, period)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE budget_crossing`);
    await q.query(`DROP TABLE budget_threshold`);
  }
}
