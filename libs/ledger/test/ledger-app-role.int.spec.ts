import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { localInfra, uniqueName } from '@metering/testing';
import {
  appRoleStatements,
  createAppRoleStatement,
  createLedgerDataSource,
  migrateLedger,
  migrateLedgerForApp,
  roleOfUrl,
} from '../src';

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
  await ds.query(createAppRoleStatement(role));
  // As a service's migration step does it: migrate as the owner, then grant the app role.
  await migrateLedger(ds, { grantTo: role });
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

test('the app role runs no DDL and cannot rewrite the migration history', async () => {
  await refusedAsApp(`CREATE TABLE ${schema}.shadow (id int)`, /permission denied for schema/);
  await refusedAsApp(`ALTER TABLE tenant ADD COLUMN x int`, /must be owner/);
  await refusedAsApp(`CREATE INDEX tenant_x ON tenant (name)`, /must be owner/);
  await refusedAsApp(`DROP FUNCTION final_document_immutable()`, /must be owner/);
  await refusedAsApp(`DELETE FROM ledger_migrations`, /permission denied/);
  await refusedAsApp(
    `INSERT INTO ledger_migrations (timestamp, name) VALUES (1, 'x')`,
    /permission denied/,
  );
  await refusedAsApp(`CREATE SCHEMA ${schema}_x`, /permission denied for database/);
  const seq = await ds.query<{ relname: string }[]>(
    `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'S' LIMIT 1`,
    [schema],
  );
  const sequence = seq[0]?.relname;
  assert.ok(sequence !== undefined, 'the ledger has a sequence');
  await app.query(`SELECT nextval('${sequence}')`);
  await refusedAsApp(`SELECT setval('${sequence}', 1)`, /permission denied/);
  assert.equal(
    (await app.query(`SELECT count(*)::int AS n FROM ledger_migrations`)).rows.length,
    1,
  );
});

test('final documents are append-only to the app role: UPDATE and DELETE are not even granted', async () => {
  for (const table of ['invoice', 'document_pdf', 'credit_note']) {
    await refusedAsApp(`UPDATE ${table} SET number = number`, /permission denied for table/);
    await refusedAsApp(`DELETE FROM ${table}`, /permission denied for table/);
    await refusedAsApp(`SELECT number FROM ${table} FOR UPDATE`, /permission denied for table/);
  }
  const kept = await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM invoice`);
  assert.equal(kept[0]?.n, 1);
});

test('final invoices and stored PDFs refuse UPDATE, DELETE and TRUNCATE, even for the owner', async () => {
  for (const [table, where] of [
    ['invoice', `number = 'INV-2026-11-000001'`],
    ['document_pdf', `number = 'INV-2026-11-000001'`],
  ] as const) {
    const set = table === 'invoice' ? 'total = 2' : `sha256 = repeat('b', 64)`;
    await refusedAsApp(`UPDATE ${table} SET ${set} WHERE ${where}`, /permission denied/);
    await refusedAsApp(`DELETE FROM ${table} WHERE ${where}`, /permission denied/);
    await assert.rejects(ds.query(`UPDATE ${table} SET ${set} WHERE ${where}`), /immutable/);
    await assert.rejects(ds.query(`DELETE FROM ${table} WHERE ${where}`), /immutable/);
    // The owner may TRUNCATE by privilege; the statement trigger still refuses.
    await assert.rejects(ds.query(`TRUNCATE ${table} CASCADE`), /immutable \(TRUNCATE on /);
  }
  await assert.rejects(ds.query(`TRUNCATE credit_note`), /immutable \(TRUNCATE on credit_note\)/);
  const kept = await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM document_pdf`);
  assert.equal(kept[0]?.n, 1);
});

test('a migration step with the owner URL grants the role of the service URL, whose sessions run as it', async () => {
  const schema2 = uniqueName('ledger_role_step');
  const owner = new URL(localInfra.postgresUrl);
  const appUrl = new URL(localInfra.postgresUrl);
  appUrl.username = role;
  assert.equal(roleOfUrl(appUrl.toString()), role);
  try {
    const applied = await migrateLedgerForApp({
      url: appUrl.toString(),
      migrationUrl: owner.toString(),
      schema: schema2,
    });
    assert.ok(applied.length > 0, 'a fresh schema is migrated');
    const service = createLedgerDataSource({
      url: appUrl.toString(),
      schema: schema2,
      poolSize: 1,
    });
    await service.initialize();
    try {
      const who = await service.query<{ u: string }[]>(`SELECT current_user AS u`);
      assert.equal(who[0]?.u, role);
      await service.query(`INSERT INTO tenant (id, name, currency) VALUES ('t', 'T', 'EUR')`);
      await assert.rejects(service.query(`TRUNCATE tenant`), /permission denied/);
      await assert.rejects(
        service.query(`ALTER TABLE invoice DISABLE TRIGGER ALL`),
        /must be owner/,
      );
      // Nothing pending: a second step applies nothing and grants again without error.
      const again = await migrateLedgerForApp({
        url: appUrl.toString(),
        migrationUrl: owner.toString(),
        schema: schema2,
      });
      assert.deepEqual(again, []);
    } finally {
      await service.destroy();
    }
  } finally {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema2}" CASCADE`);
  }
});

test('role and schema names are checked identifiers', () => {
  assert.throws(() => roleOfUrl('postgres://Bad%22Role@127.0.0.1/x'), RangeError);
  assert.throws(() => roleOfUrl('not a url'), RangeError);
  assert.throws(() => appRoleStatements('x; DROP TABLE invoice', 'public'), RangeError);
  assert.throws(() => appRoleStatements('metering_app', 'Public"'), RangeError);
  assert.match(appRoleStatements('metering_app', 'public', "it's")[0] ?? '', /PASSWORD 'it''s'/);
});
