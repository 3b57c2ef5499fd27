import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The rating pricing stage (docs/adr/0014-rating-scale-out.md): the hot path writes quantities
 * and insert-only unpriced pieces (`rating_unpriced_usage`); the stage prices them per tenant
 * month under the lease of its `tenant_month_position` row and keeps the instances' open usage
 * windows in a row of its own (`rating_open_window`, one per instance and month), written only
 * under that lease. The open windows leave `instance_state.pending_usage`: they move here.
 */
export class RatingPricingStage1764724500000 implements MigrationInterface {
  name = 'RatingPricingStage1764724500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rating_unpriced_usage (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL,
        period char(7) NOT NULL,
        resource_id text NOT NULL,
        instance_id text NOT NULL,
        piece jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX rating_unpriced_usage_month ON rating_unpriced_usage (tenant_id, period, id)`,
    );
    await q.query(`
      CREATE TABLE rating_open_window (
        resource_id text NOT NULL,
        instance_id text NOT NULL,
        period char(7) NOT NULL,
        tenant_id text NOT NULL,
        "window" jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (resource_id, instance_id, period)
      )`);
    await q.query(
      `CREATE INDEX rating_open_window_month ON rating_open_window (tenant_id, period)`,
    );
    await q.query(`CREATE INDEX rating_open_window_idle ON rating_open_window (updated_at)`);
    await q.query(`
      INSERT INTO rating_open_window (resource_id, instance_id, period, tenant_id, "window",
        updated_at)
      SELECT resource_id, instance_id, pending_usage ->> 'period', pending_usage ->> 'tenantId',
             pending_usage, updated_at
      FROM instance_state WHERE pending_usage IS NOT NULL`);
    await q.query(`DROP INDEX IF EXISTS instance_state_open_window`);
    await q.query(`ALTER TABLE instance_state DROP COLUMN pending_usage`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance_state ADD COLUMN pending_usage jsonb`);
    await q.query(`
      UPDATE instance_state s SET pending_usage = w."window"
      FROM (SELECT DISTINCT ON (resource_id, instance_id) resource_id, instance_id, "window"
            FROM rating_open_window ORDER BY resource_id, instance_id, period DESC) AS w
      WHERE s.resource_id = w.resource_id AND s.instance_id = w.instance_id`);
    await q.query(
      `CREATE INDEX instance_state_open_window ON instance_state (updated_at) WHERE pending_usage IS NOT NULL`,
    );
    await q.query(`DROP TABLE rating_open_window`);
    await q.query(`DROP TABLE rating_unpriced_usage`);
  }
}
