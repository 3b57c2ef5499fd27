import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { z } from 'zod';
import { isInfrastructureError } from '../src/consuming/batch-error.classifier';
import {
  LedgerDb,
  StalePreparedStatementError,
  preparingStatements,
  withoutPreparedStatements,
} from '../src/ledger/ledger-db';
import { oneConnectionLedger } from './one-connection-ledger';
import { ledgerPool } from './ledger-pool';

// The ledger's statements in transactions run as named prepared statements (statement-names.ts):
// on real PostgreSQL, each connection then holds them (pg_prepared_statements), values of every
// shape go through them unchanged, a migration that changes what a prepared statement returns
// makes the batch retry (never blamed on its messages) and the next run prepares it again, and
// DATABASE_PREPARED_STATEMENTS=false prepares nothing. A pool of one connection: what one
// transaction prepared, the next statement's session shows.

const PREPARED = z.object({ name: z.string(), statement: z.string() });

async function preparedOn(ds: DataSource): Promise<z.output<typeof PREPARED>[]> {
  return z
    .array(PREPARED)
    .parse(await ds.query('SELECT name, statement FROM pg_prepared_statements'));
}

describe('LedgerDb prepares the statements of its transactions', () => {
  let schema: string;
  let ds: DataSource;
  let db: LedgerDb;
  let drop: () => Promise<void>;

  before(async () => {
    ({ ds, schema, drop } = await oneConnectionLedger('prepared'));
    await ds.query(`CREATE TABLE ${schema}.t (a int NOT NULL)`);
    await ds.query(`INSERT INTO ${schema}.t VALUES (1), (2)`);
    db = new LedgerDb(ledgerPool(ds));
  });
  after(() => drop());

  test('a statement run in transactions is prepared once on the connection', async () => {
    const sql = `SELECT a FROM ${schema}.t WHERE a >= $1 ORDER BY a`;
    const row = z.object({ a: z.number() });
    for (const from of [1, 2, 1]) {
      const rows = await db.transaction((tx) => db.rows(tx, row, sql, [from]));
      assert.deepEqual(
        rows.map((r) => r.a),
        from === 1 ? [1, 2] : [2],
      );
    }
    const mine = (await preparedOn(ds)).filter((p) => p.statement === sql);
    assert.equal(mine.length, 1);
    assert.match(mine[0]!.name, /^ledger_\d+_\d+$/);
  });

  test('values of every shape go through a prepared statement unchanged', async () => {
    const row = z.object({ t: z.string().nullable(), n: z.string(), arr: z.array(z.string()) });
    const sql = 'SELECT $1::text AS t, $2::numeric::text AS n, $3::text[] AS arr';
    const huge = 'é'.repeat(500_000);
    const cases: [string | null, string, string[]][] = [
      ['plain', '1', []],
      [null, '-0.000000001', ['a', '']],
      ['Grüße 日本 🙂', '99999999999999999999999999.123456789', ['🙂', 'x,y', '"q"', 'NULL']],
      [huge, '9007199254740993', [huge.slice(0, 10)]],
    ];
    for (const [t, n, arr] of cases) {
      const [got] = await db.transaction((tx) => db.rows(tx, row, sql, [t, n, arr]));
      assert.deepEqual(got, { t, n, arr });
    }
  });

  test('a value PostgreSQL refuses is the statement’s error, not a stale statement', async () => {
    const sql = 'SELECT $1::text AS t';
    const refused = await db
      .transaction((tx) => db.execute(tx, sql, ['nul\u0000byte']))
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(refused instanceof Error);
    assert.equal((refused as { code?: string }).code, '22021');
    assert.ok(!(refused instanceof StalePreparedStatementError));
    assert.equal(isInfrastructureError(refused), false);
    // The connection and the statement still work.
    await db.transaction((tx) => db.execute(tx, sql, ['fine']));
  });

  test('a migration that changes what a prepared statement returns: retried, then prepared again', async () => {
    const sql = `SELECT * FROM ${schema}.t ORDER BY a`;
    const any = z.record(z.string(), z.unknown());
    await db.transaction((tx) => db.rows(tx, any, sql));
    await ds.query(`ALTER TABLE ${schema}.t ADD COLUMN b int NOT NULL DEFAULT 7`);
    const stale = await db
      .transaction((tx) => db.rows(tx, any, sql))
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(stale instanceof StalePreparedStatementError, String(stale));
    assert.equal(isInfrastructureError(stale), true);
    const rows = await db.transaction((tx) => db.rows(tx, any, sql));
    assert.deepEqual(rows, [
      { a: 1, b: 7 },
      { a: 2, b: 7 },
    ]);
  });
});

describe('DATABASE_PREPARED_STATEMENTS=false', () => {
  let schema: string;
  let ds: DataSource;
  let drop: () => Promise<void>;

  before(async () => {
    ({ ds, schema, drop } = await oneConnectionLedger('unprepared'));
    withoutPreparedStatements(ledgerPool(ds));
  });
  after(() => drop());

  test('statements in transactions are not prepared', async () => {
    const db = new LedgerDb(ledgerPool(ds));
    const sql = `SELECT $1::int + 1 AS n -- ${schema}`;
    const rows = await db.transaction((tx) => db.rows(tx, z.object({ n: z.number() }), sql, [41]));
    assert.deepEqual(rows, [{ n: 42 }]);
    assert.deepEqual(
      (await preparedOn(ds)).filter((p) => p.statement === sql),
      [],
    );
  });
});

// Last in the file: it turns preparing off for this process (the names are the process's).
describe('a pooler that loses the session’s prepared statements', () => {
  let schema: string;
  let ds: DataSource;
  let drop: () => Promise<void>;

  before(async () => {
    ({ ds, schema, drop } = await oneConnectionLedger('pooler'));
  });
  after(() => drop());

  test('each loss is retried and prepared again; losses that keep coming turn preparing off', async () => {
    const db = new LedgerDb(ledgerPool(ds));
    const sql = `SELECT $1::int * 2 AS n -- ${schema}`;
    const row = z.object({ n: z.number() });
    const run = () => db.transaction((tx) => db.rows(tx, row, sql, [21]));
    assert.deepEqual(await run(), [{ n: 42 }]);
    let losses = 0;
    while (preparingStatements() && losses < 3) {
      // What a pooler's DISCARD ALL, or another server session, does to the client's statements.
      await ds.query('DEALLOCATE ALL');
      const lost = await run().then(
        () => null,
        (error: unknown) => error,
      );
      losses += 1;
      assert.ok(lost instanceof StalePreparedStatementError, String(lost));
      assert.equal(isInfrastructureError(lost), true);
      if (preparingStatements()) {
        assert.match(lost.message, /prepared again/);
        assert.deepEqual(await run(), [{ n: 42 }]);
        assert.equal((await preparedOn(ds)).filter((p) => p.statement === sql).length, 1);
      } else {
        assert.match(lost.message, /DATABASE_PREPARED_STATEMENTS=false/);
      }
    }
    assert.equal(preparingStatements(), false);
    await ds.query('DEALLOCATE ALL');
    assert.deepEqual(await run(), [{ n: 42 }]);
    assert.deepEqual(await preparedOn(ds), []);
  });
});
