import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Billing automation (issue 16): the invoice events' transactional outbox, webhook endpoints and
 * their delivery log, and the record of scheduled period closes.
 *
 * - `event_outbox`: one row per fact (`event_id` unique: the stable id, so writing the same fact
 *   twice is a no-op), inserted in the transaction of the change it reports; billing-api's relay
 *   publishes rows with `sent_at IS NULL` to `billing.invoices.v1` and sets `sent_at` after the
 *   brokers' acknowledgement.
 * - `webhook_endpoint`: secrets AES-256-GCM encrypted (they are needed to sign, so a hash would
 *   not do); `previous_secret_*` is the rotated-out secret, still signing until it expires.
 * - `webhook_delivery`: one row per (endpoint, event), written with the outbox row; the log of
 *   its attempts (count, last status, latency, the response's first 1 KiB).
 * - `billing_close_run`: one row per month the scheduler closed (or tried to).
 */
export class BillingAutomation1764723000160 implements MigrationInterface {
  name = 'BillingAutomation1764723000160';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_outbox (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        event_type text NOT NULL,
        tenant_id text,
        topic text NOT NULL,
        key text NOT NULL,
        payload text NOT NULL,
        occurred_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        publish_attempts integer NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE INDEX event_outbox_pending ON event_outbox (id) WHERE sent_at IS NULL`);
    await q.query(`
      CREATE TABLE webhook_endpoint (
        id text PRIMARY KEY,
        tenant_id text REFERENCES tenant (id) ON DELETE CASCADE,
        url text NOT NULL,
        event_types text[] NOT NULL,
        description text NOT NULL DEFAULT '',
        secret_ciphertext bytea NOT NULL,
        previous_secret_ciphertext bytea,
        previous_secret_expires_at timestamptz,
        status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
        disabled_reason text,
        failing_since timestamptz,
        consecutive_failures integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_endpoint_tenant ON webhook_endpoint (tenant_id)`);
    await q.query(`
      CREATE TABLE webhook_delivery (
        id bigserial PRIMARY KEY,
        endpoint_id text NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
        event_id text NOT NULL REFERENCES event_outbox (event_id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        window_started_at timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_attempt_at timestamptz,
        last_status_code integer,
        last_latency_ms integer,
        last_response text,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (endpoint_id, event_id)
      )`);
    await q.query(
      `CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(`CREATE INDEX webhook_delivery_event ON webhook_delivery (event_id)`);
    await q.query(`
      CREATE TABLE billing_close_run (
        period text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        instance text NOT NULL,
        result jsonb,
        last_error text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE billing_close_run`);
    await q.query(`DROP TABLE webhook_delivery`);
    await q.query(`DROP TABLE webhook_endpoint`);
    await q.query(`DROP TABLE event_outbox`);
  }
}
