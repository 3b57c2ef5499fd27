import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { SocketProxy, localInfra, uniqueName, waitFor } from '@metering/testing';
import { LEDGER_MIGRATIONS } from '../src';
import { createLedgerPool, ledgerSchema, migrateLedgerInWorker } from '../src/ledger-pool';

// The ledger as rating reaches it without TypeORM in its process (src/ledger-pool.ts): the
// migrations in a worker thread, then node-postgres's pool on the schema.

const admin = new pg.Pool({ connectionString: localInfra.postgresUrl, max: 1 });
const schemas: string[] = [];

after(async () => {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

test('the worker migrates a fresh schema, every migration in order, then finds nothing pending', async () => {
  const schema = uniqueName('ledger_pool');
  schemas.push(schema);
  const options = { url: localInfra.postgresUrl, migrationUrl: null, schema };
  const applied = await migrateLedgerInWorker(options);
  assert.deepEqual(
    applied,
    LEDGER_MIGRATIONS.map((m) => m.name),
  );
  assert.deepEqual(await migrateLedgerInWorker(options), []);

  // The pool's sessions resolve unqualified names in the schema and name the service.
  const pool = createLedgerPool({
    url: localInfra.postgresUrl,
    schema,
    poolSize: 2,
    applicationName: 'rating-spec',
  });
  try {
    const { rows } = await pool.query<{ path: string; app: string; n: number }>(
      `SELECT current_setting('search_path') AS path,
              current_setting('application_name') AS app,
              (SELECT count(*)::int FROM ledger_migrations) AS n`,
    );
    assert.deepEqual(rows[0], { path: schema, app: 'rating-spec', n: LEDGER_MIGRATIONS.length });
    assert.equal(pool.options.max, 2);
  } finally {
    await pool.end();
  }
});

test('two workers migrating one schema at once take turns: each migration is applied once', async () => {
  const schema = uniqueName('ledger_pool_race');
  schemas.push(schema);
  const options = { url: localInfra.postgresUrl, migrationUrl: null, schema };
  const [a, b] = await Promise.all([
    migrateLedgerInWorker(options),
    migrateLedgerInWorker(options),
  ]);
  assert.deepEqual(
    [...a, ...b],
    LEDGER_MIGRATIONS.map((m) => m.name),
  );
});

test('a ledger out of reach rejects with the reason, and no password in it', async () => {
  const url = new URL(localInfra.postgresUrl);
  url.password = 'p\u00e4ss-not-a-secret-\u0000x';
  url.port = '1';
  await assert.rejects(
    migrateLedgerInWorker({ url: url.toString(), migrationUrl: null, schema: 'public' }),
    (error: Error) => {
      assert.match(error.message, /^ledger migration: .*(ECONNREFUSED|connect)/);
      assert.doesNotMatch(error.message, /not-a-secret/);
      return true;
    },
  );
});

test('schema names are checked identifiers, for the pool and the worker alike', async () => {
  for (const bad of [
    'Public',
    'x; DROP TABLE invoice',
    'a"b',
    '',
    'x'.repeat(64),
    'é',
    'a\u0000b',
  ]) {
    assert.throws(() => ledgerSchema(bad), /ledger schema/);
    assert.throws(
      () => createLedgerPool({ url: localInfra.postgresUrl, schema: bad }),
      /ledger schema/,
    );
    await assert.rejects(
      migrateLedgerInWorker({ url: localInfra.postgresUrl, migrationUrl: null, schema: bad }),
      /ledger migration: ledger schema/,
    );
  }
  assert.equal(ledgerSchema(undefined), 'public');
  assert.equal(ledgerSchema('ledger_1'), 'ledger_1');
});

test('a connection lost, idle or in use, is reported to the pool owner and does not end the process', async () => {
  const target = new URL(localInfra.postgresUrl);
  const proxy = new SocketProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.start();
  const proxied = new URL(localInfra.postgresUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const lost: Error[] = [];
  const pool = createLedgerPool({ url: proxied.toString(), poolSize: 2 }, (e) => lost.push(e));
  try {
    const [busy, idle] = [await pool.connect(), await pool.connect()];
    idle.release();
    const running = busy.query('SELECT pg_sleep(5)');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await proxy.stop();
    await assert.rejects(running);
    await waitFor(() => lost.length >= 2, {
      timeoutMs: 5_000,
      description: 'both losses reported',
    });
    busy.release(true);
    // Back: the pool opens new connections.
    await proxy.start();
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
  } finally {
    await pool.end();
    await proxy.stop();
  }
});
