import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * What rating needs to publish `billing.usage.v1` per window and only what has committed:
 * each instance's open usage window (rated, in the ledger, not yet an event) beside its state,
 * and an outbox of complete events written in the batch's transaction and deleted once Kafka
 * has acknowledged them (docs/adr/0006-usage-event-windows.md).
 */
export class UsageWindows1764374400000 implements MigrationInterface {
  name = 'UsageWindows1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instance_state ADD COLUMN pending_usage jsonb`);
    await q.query(`
      CREATE TABLE usage_outbox (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL,
        payload text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usage_outbox`);
    await q.query(`ALTER TABLE instance_state DROP COLUMN pending_usage`);
  }
}
