import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * What billing-api adds to the ledger: hashed tenant API keys, final invoices (immutable content
 * and its hash) and one numbering counter per period, locked by the transaction that takes a
 * number so the sequence has no gaps.
 */
export class BillingLedger1764201600000 implements MigrationInterface {
  name = 'BillingLedger1764201600000';

  async up(q: QueryRunner): Promise<void> {
    // The secret is never stored: only its SHA-256, compared in constant time.
    await q.query(`
      CREATE TABLE api_key (
        id text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenant (id),
        secret_sha256 bytea NOT NULL CONSTRAINT api_key_secret_length_check CHECK (length(secret_sha256) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_key_tenant ON api_key (tenant_id)`);
    // Only final invoices are stored; drafts are computed from the ledger on every read.
    await q.query(`
      CREATE TABLE invoice (
        tenant_id text NOT NULL REFERENCES tenant (id),
        period char(7) NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        number text NOT NULL UNIQUE,
        sequence integer NOT NULL CHECK (sequence > 0),
        currency char(3) NOT NULL,
        total numeric NOT NULL,
        content jsonb NOT NULL,
        content_hash char(64) NOT NULL,
        finalized_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, period),
        UNIQUE (period, sequence)
      )`);
    await q.query(`
      CREATE TABLE invoice_counter (
        period char(7) PRIMARY KEY,
        last_sequence integer NOT NULL DEFAULT 0 CHECK (last_sequence >= 0)
      )`);
    // Final invoices must never change: the database refuses, not just the code.
    await q.query(`
      CREATE FUNCTION invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'final invoices are immutable (%, %)', OLD.tenant_id, OLD.period;
      END $$`);
    await q.query(`
      CREATE TRIGGER invoice_immutable BEFORE UPDATE OR DELETE ON invoice
      FOR EACH ROW EXECUTE FUNCTION invoice_immutable()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE invoice_counter`);
    await q.query(`DROP TABLE invoice`);
    await q.query(`DROP FUNCTION invoice_immutable()`);
    await q.query(`DROP TABLE api_key`);
  }
}
