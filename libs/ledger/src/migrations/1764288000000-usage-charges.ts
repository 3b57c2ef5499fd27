import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * What rating adds to price usage as it is rated: the charge of each usage bucket, and each
 * tenant's running position in its billing month (the quantity already priced, on the plan's
 * basis, and its charges), from which graduated tiers continue. Both move in the transaction that
 * adds the usage, under the position row's lock, so a replay changes nothing.
 */
export class UsageCharges1764288000000 implements MigrationInterface {
  name = 'UsageCharges1764288000000';

  async up(q: QueryRunner): Promise<void> {
    // Unrounded, in the currency of the tenant's plan; buckets rated before this column existed
    // (or of tenants without a plan) carry 0.
    await q.query(`ALTER TABLE usage_bucket ADD COLUMN amount numeric NOT NULL DEFAULT 0`);
    // No foreign key to tenant, like usage_bucket: usage is never dropped for a missing row.
    await q.query(`
      CREATE TABLE tenant_month_position (
        tenant_id text NOT NULL,
        period char(7) NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        cpu_core_seconds numeric NOT NULL DEFAULT 0 CHECK (cpu_core_seconds >= 0),
        memory_gib_seconds numeric NOT NULL DEFAULT 0 CHECK (memory_gib_seconds >= 0),
        cpu_amount numeric NOT NULL DEFAULT 0,
        memory_amount numeric NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, period)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tenant_month_position`);
    await q.query(`ALTER TABLE usage_bucket DROP COLUMN amount`);
  }
}
