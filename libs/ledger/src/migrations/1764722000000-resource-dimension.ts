import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `resource`: one row per resource of a tenant with what the collectors call it (name, image,
 * flavour, host), a dimension the usage API and invoices join on (tenant_id, resource_id) instead
 * of a name on every bucket. Rating upserts it in its batch transaction, only for new or changed
 * resources; the description with the latest observed time wins (details_observed_at).
 */
export class ResourceDimension1764722000000 implements MigrationInterface {
  name = 'ResourceDimension1764722000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE resource (
        tenant_id text NOT NULL,
        resource_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('container', 'vm')),
        name text NOT NULL,
        image text,
        flavour text,
        host text NOT NULL,
        first_seen timestamptz(3) NOT NULL,
        last_seen timestamptz(3) NOT NULL CHECK (last_seen >= first_seen),
        details_observed_at timestamptz(3) NOT NULL,
        PRIMARY KEY (tenant_id, resource_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE resource`);
  }
}
