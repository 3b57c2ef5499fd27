import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Tenants, versioned price plans and assignments, the usage ledger, instance state, offsets. */
export class InitialLedger1764115200000 implements MigrationInterface {
  name = 'InitialLedger1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenant (
        id text PRIMARY KEY,
        name text NOT NULL,
        time_zone text NOT NULL DEFAULT 'UTC',
        currency char(3) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE price_plan (
        id text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        currency char(3) NOT NULL,
        basis text NOT NULL CHECK (basis IN ('usage', 'allocation', 'max')),
        cpu_tiers jsonb,
        memory_tiers jsonb,
        minimum numeric NOT NULL DEFAULT 0 CHECK (minimum >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id, version)
      )`);
    await q.query(`
      CREATE TABLE plan_assignment (
        tenant_id text NOT NULL REFERENCES tenant (id),
        effective_from timestamptz NOT NULL,
        plan_id text NOT NULL,
        plan_version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, effective_from),
        FOREIGN KEY (plan_id, plan_version) REFERENCES price_plan (id, version)
      )`);
    // No foreign key to tenant: usage of a tenant not yet registered is kept, never dropped.
    await q.query(`
      CREATE TABLE usage_bucket (
        tenant_id text NOT NULL,
        resource_id text NOT NULL,
        bucket_start timestamptz NOT NULL,
        resource_kind text NOT NULL CHECK (resource_kind IN ('container', 'vm')),
        cpu_usage_core_seconds numeric NOT NULL DEFAULT 0,
        cpu_allocation_core_seconds numeric NOT NULL DEFAULT 0,
        cpu_max_core_seconds numeric NOT NULL DEFAULT 0,
        memory_usage_byte_seconds numeric NOT NULL DEFAULT 0,
        memory_allocation_byte_seconds numeric NOT NULL DEFAULT 0,
        memory_max_byte_seconds numeric NOT NULL DEFAULT 0,
        observed_ms bigint NOT NULL DEFAULT 0,
        gap_ms bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, resource_id, bucket_start)
      )`);
    await q.query(
      `CREATE INDEX usage_bucket_tenant_time ON usage_bucket (tenant_id, bucket_start)`,
    );
    await q.query(`
      CREATE TABLE instance_state (
        resource_id text NOT NULL,
        instance_id text NOT NULL,
        tenant_id text NOT NULL,
        resource_kind text NOT NULL,
        started_at timestamptz(3) NOT NULL,
        last_observed_at timestamptz(3) NOT NULL,
        last_cpu_usage_ns numeric NOT NULL,
        last_memory_usage_bytes numeric NOT NULL,
        last_cpu_allocation_cores numeric,
        last_memory_allocation_bytes numeric,
        final boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (resource_id, instance_id)
      )`);
    await q.query(`
      CREATE TABLE consumer_offset (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'consumer_offset',
      'instance_state',
      'usage_bucket',
      'plan_assignment',
      'price_plan',
      'tenant',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
