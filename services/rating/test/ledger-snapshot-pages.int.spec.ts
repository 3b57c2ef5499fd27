import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { z } from 'zod';
import { LedgerDb } from '../src/ledger/ledger-db';
import { oneConnectionLedger } from './one-connection-ledger';
import { ledgerPool } from './ledger-pool';

// LedgerDb.snapshotPages opens its read-only snapshot with a raw BEGIN. An iteration stopped
// early (a consumer that breaks, a page that fails its schema) must not hand the pool's
// connection back inside that transaction: the next statement on it would run in a stale,
// read-only snapshot. Real PostgreSQL; a pool of one connection, so the next user gets the same.

const ROW = z.object({ n: z.coerce.number() });
const SERIES = 'SELECT n FROM generate_series(1, 10) AS n ORDER BY n';

/** The pool's one connection: in a transaction (its snapshot isolation) or not. */
const STATE = z.array(z.object({ inTransaction: z.boolean(), isolation: z.string() })).length(1);

async function transactionState(
  ds: DataSource,
): Promise<{ inTransaction: boolean; isolation: string }> {
  const rows = STATE.parse(
    await ds.query(
      `SELECT now() <> statement_timestamp() AS "inTransaction",
              current_setting('transaction_isolation') AS isolation`,
    ),
  );
  return rows[0]!;
}

describe('LedgerDb.snapshotPages ends its transaction however the iteration ends', () => {
  let schema: string;
  let ds: DataSource;
  let db: LedgerDb;
  let drop: () => Promise<void>;

  before(async () => {
    ({ ds, schema, drop } = await oneConnectionLedger('snap_pages'));
    db = new LedgerDb(ledgerPool(ds));
  });
  after(() => drop());

  test('read to the end: every page, then the connection is out of the snapshot', async () => {
    const seen: number[] = [];
    for await (const page of db.snapshotPages(ROW, SERIES, [], 3))
      seen.push(...page.map((r) => r.n));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // A transaction would still hold the snapshot's start time; outside one, now() moves.
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await transactionState(ds), {
      inTransaction: false,
      isolation: 'read committed',
    });
  });

  test('stopped after the first page: the connection goes back rolled back', async () => {
    for await (const page of db.snapshotPages(ROW, SERIES, [], 3)) {
      assert.equal(page.length, 3);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await transactionState(ds), {
      inTransaction: false,
      isolation: 'read committed',
    });
  });

  test('a page that fails its schema: the error surfaces and the connection is rolled back', async () => {
    const strict = z.object({ n: z.string() });
    await assert.rejects(async () => {
      for await (const page of db.snapshotPages(strict, SERIES, [], 3)) assert.ok(page.length > 0);
    }, /not as expected/);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await transactionState(ds), {
      inTransaction: false,
      isolation: 'read committed',
    });
    // And the connection writes again (a read-only snapshot would refuse).
    await ds.query(`CREATE TABLE ${schema}.written (n int)`);
    await ds.query(`DROP TABLE ${schema}.written`);
  });
});
