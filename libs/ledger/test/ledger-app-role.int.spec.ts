import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { localInfra, uniqueName } from '@metering/testing';
import { appRoleStatements, createLedgerDataSource, migrateLedger } from '../src';

const schema = uniqueName('ledger_role');
const role = uniqueName('metering_app');
const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema });
/** One session as the app role (SET ROLE: the privileges of logging in as it). */
const appSource = createLedgerDataSource({ url: localInfra.postgresUrl, schema, poolSize: 1 });
const app = {
  query: async (sql: string) => ({ rows: await appSource.query<Record<string, unknown>[]>(sql) }),
};

before(async () => {
  await ds.initialize();
  await migrateLedger(ds);
  for (const sql of appRoleStatements(role, schema)) await ds.query(sql);
  await appSource.initialize();
  await app.query(`SET ROLE ${role}`);
  await ds.query(`INSERT INTO tenant (id, name, currency) VALUES ('acme', 'Acme', 'EUR')`);
  await ds.query(
    `INSERT INTO invoice (tenant_id, period, number, sequence, currency, total, content, content_hash)
     VALUES ('acme', '2026-11', 'INV-2026-11-000001', 1, 'EUR', 1, '{}', repeat('0', 64))`,
  );
  await ds.query(
    `INSERT INTO document_pdf (number, pdf, sha256) VALUES ('INV-2026-11-000001', '\\x25', repeat('a', 64))`,
  );
});

after(async () => {
  if (appSource.isInitialized) await appSource.destroy();
  if (ds.isInitialized) {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await ds.query(`DROP ROLE IF EXISTS ${role}`);
    await ds.destroy();
  }
});

const refusedAsApp = async (sql: string, pattern: RegExp) => {
  await assert.rejects(app.query(sql), (e: Error) => pattern.test(e.message), sql);
};

test('the app role reads and writes the ledger, but is neither owner nor superuser', async () => {
  const r = await app.query(
    `SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su`,
  );
  assert.deepEqual(r.rows[0], { current_user: role, su: false });
  await app.query(`INSERT INTO tenant (id, name, currency) VALUES ('beta', 'Beta', 'EUR')`);
  await app.query(`UPDATE tenant SET legal_name = 'Beta AG' WHERE id = 'beta'`);
  assert.equal((await app.query(`SELECT count(*)::int AS n FROM invoice`)).rows[0]?.n, 1);
});

test('the app role cannot disable the immutability triggers, drop or truncate', async () => {
  for (const table of ['invoice', 'document_pdf', 'credit_note']) {
    await refusedAsApp(`ALTER TABLE ${table} DISABLE TRIGGER ALL`, /must be owner/);
    await refusedAsApp(`DROP TABLE ${table}`, /must be owner/);
    await refusedAsApp(`TRUNCATE ${table}`, /permission denied/);
  }
  await refusedAsApp(`ALTER TABLE invoice DISABLE TRIGGER invoice_immutable`, /must be owner/);
  await refusedAsApp(`SET session_replication_role = replica`, /permission denied/);
});

test('final invoices and stored PDFs refuse UPDATE, DELETE and TRUNCATE, even for the owner', async () => {
  for (const [table, where] of [
    ['invoice', `number = 'INV-2026-11-000001'`],
    ['document_pdf', `number = 'INV-2026-11-000001'`],
  ] as const) {
    const set = table === 'invoice' ? 'total = 2' : `sha256 = repeat('b', 64)`;
    await refusedAsApp(`UPDATE ${table} SET ${set} WHERE ${where}`, /immutable/);
    await refusedAsApp(`DELETE FROM ${table} WHERE ${where}`, /immutable/);
    await assert.rejects(ds.query(`UPDATE ${table} SET ${set} WHERE ${where}`), /immutable/);
    await assert.rejects(ds.query(`DELETE FROM ${table} WHERE ${where}`), /immutable/);
    // The owner may TRUNCATE by privilege; the statement trigger still refuses.
    await assert.rejects(ds.query(`TRUNCATE ${table} CASCADE`), /immutable \(TRUNCATE on /);
  }
  await assert.rejects(ds.query(`TRUNCATE credit_note`), /immutable \(TRUNCATE on credit_note\)/);
  const kept = await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM document_pdf`);
  assert.equal(kept[0]?.n, 1);
});

test('role and schema names are checked identifiers', () => {
  assert.throws(() => appRoleStatements('x; DROP TABLE invoice', 'public'), RangeError);
  assert.throws(() => appRoleStatements('metering_app', 'Public"'), RangeError);
  assert.match(appRoleStatements('metering_app', 'public', "it's")[0] ?? '', /PASSWORD 'it''s'/);
});
