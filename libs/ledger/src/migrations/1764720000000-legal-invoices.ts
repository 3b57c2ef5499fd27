import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Invoices a finance team can send (issue 15): the buyer's billing details on the tenant, the
 * final PDF of every invoice and credit note stored once with its SHA-256, credit notes in their
 * own gap-free yearly sequence, and TRUNCATE refused like UPDATE and DELETE on every final
 * document. A row trigger cannot see TRUNCATE, so each table gets a statement trigger too.
 *
 * The triggers stop the application, not the tables' owner: an owner or superuser can
 * `ALTER TABLE … DISABLE TRIGGER`. Services are meant to connect as a role that owns nothing
 * (docs/operations.md, "Database roles"; infra/local/sql/app-role.sql).
 */
export class LegalInvoices1764720000000 implements MigrationInterface {
  name = 'LegalInvoices1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenant
        ADD COLUMN legal_name text,
        ADD COLUMN address text[],
        ADD COLUMN tax_id text,
        ADD COLUMN email text,
        ADD COLUMN tax_rate numeric CONSTRAINT tenant_tax_rate_check CHECK (tax_rate >= 0 AND tax_rate <= 100),
        ADD COLUMN tax_exemption_reason text,
        ADD COLUMN payment_terms_days integer NOT NULL DEFAULT 30
          CONSTRAINT tenant_payment_terms_days_check CHECK (payment_terms_days BETWEEN 0 AND 365),
        ADD COLUMN locale text NOT NULL DEFAULT 'en'`);
    // One row per final document (invoice or credit note), written in the transaction that makes
    // it final; the bytes are what every download returns.
    await q.query(`
      CREATE TABLE document_pdf (
        number text PRIMARY KEY,
        pdf bytea NOT NULL,
        sha256 char(64) NOT NULL CONSTRAINT document_pdf_hash_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE credit_note (
        number text PRIMARY KEY,
        year integer NOT NULL CONSTRAINT credit_note_year_check CHECK (year BETWEEN 1970 AND 9999),
        sequence integer NOT NULL CONSTRAINT credit_note_sequence_check CHECK (sequence > 0),
        tenant_id text NOT NULL,
        period char(7) NOT NULL,
        invoice_number text NOT NULL,
        currency char(3) NOT NULL,
        net numeric NOT NULL,
        tax numeric NOT NULL,
        gross numeric NOT NULL,
        content jsonb NOT NULL,
        content_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT credit_note_year_sequence_key UNIQUE (year, sequence),
        CONSTRAINT credit_note_invoice_fkey FOREIGN KEY (tenant_id, period) REFERENCES invoice (tenant_id, period)
      )`);
    await q.query(`CREATE INDEX credit_note_invoice ON credit_note (tenant_id, period)`);
    await q.query(`
      CREATE TABLE credit_note_counter (
        year integer PRIMARY KEY,
        last_sequence integer NOT NULL DEFAULT 0 CONSTRAINT credit_note_counter_last_sequence_check CHECK (last_sequence >= 0)
      )`);
    await q.query(`
      CREATE FUNCTION final_document_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'final documents are immutable (% on %)', TG_OP, TG_TABLE_NAME;
      END $$`);
    for (const table of ['document_pdf', 'credit_note']) {
      await q.query(`
        CREATE TRIGGER ${table}_immutable BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION final_document_immutable()`);
    }
    for (const table of ['invoice', 'document_pdf', 'credit_note']) {
      await q.query(`
        CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION final_document_immutable()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER invoice_no_truncate ON invoice`);
    await q.query(`DROP TABLE credit_note_counter`);
    await q.query(`DROP TABLE credit_note`);
    await q.query(`DROP TABLE document_pdf`);
    await q.query(`DROP FUNCTION final_document_immutable()`);
    await q.query(`
      ALTER TABLE tenant
        DROP COLUMN legal_name, DROP COLUMN address, DROP COLUMN tax_id, DROP COLUMN email,
        DROP COLUMN tax_rate, DROP COLUMN tax_exemption_reason, DROP COLUMN payment_terms_days,
        DROP COLUMN locale`);
  }
}
