import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The charges of the usage buckets leave `usage_bucket` for a row of their own,
 * `usage_bucket_charge`, keyed like the bucket (docs/adr/0014-rating-scale-out.md, "Charges in a
 * row of their own"): the rating batch writes a bucket's quantities, the pricing stage (under its
 * tenant month's lease) and the reprice write its charge, so the two never lock one row. A bucket
 * without a charge row has no charge (0); readers LEFT JOIN it. No foreign key to usage_bucket
 * (its check would lock the bucket row for key share, and usage is never dropped for a missing
 * row anyway). Non-zero amounts move over; `down` moves them back.
 */
export class UsageBucketCharges1764724600000 implements MigrationInterface {
  name = 'UsageBucketCharges1764724600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_bucket_charge (
        tenant_id text NOT NULL,
        resource_id text NOT NULL,
        bucket_start timestamptz NOT NULL,
        amount numeric NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, resource_id, bucket_start)
      )`);
    await q.query(`
      INSERT INTO usage_bucket_charge (tenant_id, resource_id, bucket_start, amount, updated_at)
      SELECT tenant_id, resource_id, bucket_start, amount, updated_at
      FROM usage_bucket WHERE amount <> 0`);
    await q.query(`ALTER TABLE usage_bucket DROP COLUMN amount`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_bucket ADD COLUMN amount numeric NOT NULL DEFAULT 0`);
    await q.query(`
      UPDATE usage_bucket b SET amount = c.amount
      FROM usage_bucket_charge c
      WHERE b.tenant_id = c.tenant_id AND b.resource_id = c.resource_id
        AND b.bucket_start = c.bucket_start`);
    await q.query(`DROP TABLE usage_bucket_charge`);
  }
}
