import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@metering/observability';
import { z } from 'zod';
import { ErrorFilter } from './error.filter';
import { affected, execute, firstRow, type Queryable, RowShapeError, rows } from './sql-rows';

const answering = (raw: unknown): Queryable & { calls: unknown[][] } => {
  const calls: unknown[][] = [];
  return {
    calls,
    query: (sql: string, params?: unknown[]) => {
      calls.push([sql, params]);
      return Promise.resolve(raw);
    },
  };
};

const Row = z.object({ id: z.string(), total: z.string(), at: z.date() });

test('rows are checked and typed by the schema', async () => {
  const at = new Date('2026-12-01T00:00:00Z');
  const db = answering([{ id: 'a', total: '1.50', at }]);
  assert.deepEqual(await rows(db, Row, 'SELECT id FROM t WHERE x = $1', ['p']), [
    { id: 'a', total: '1.50', at },
  ]);
  assert.deepEqual(db.calls, [['SELECT id FROM t WHERE x = $1', ['p']]]);
});

test('the rows of an UPDATE … RETURNING are read from the driver’s [rows, affected]', async () => {
  const at = new Date(0);
  const db = answering([[{ id: 'a', total: '0', at }], 1]);
  assert.deepEqual(await firstRow(db, Row, 'UPDATE t SET x = 1 RETURNING *'), {
    id: 'a',
    total: '0',
    at,
  });
  assert.equal(await firstRow(answering([]), Row, 'SELECT 1'), null);
  assert.equal(await affected(answering([[], 3]), 'DELETE FROM t'), 3);
  await execute(answering([]), 'INSERT INTO t VALUES (1)');
});

test('a mismatch names the query and the column, never the value, and is no 4xx', async () => {
  const secret = 'sk_live_do_not_log';
  const db = answering([{ id: 'a', total: 150, at: secret }]);
  await assert.rejects(
    rows(db, Row, 'SELECT id, total, at FROM invoice WHERE tenant_id = $1', [secret]),
    (err: unknown) => {
      assert.ok(err instanceof RowShapeError);
      assert.match(err.message, /^SELECT id, total, at FROM invoice: /);
      assert.match(err.message, /total: /);
      assert.match(err.message, /at: /);
      assert.ok(!err.message.includes(secret));
      assert.ok(!err.message.includes('150'));
      assert.equal((err as { status?: unknown }).status, undefined);
      return true;
    },
  );
  await assert.rejects(rows(answering(null), Row, 'SELECT 1'), RowShapeError);
  await assert.rejects(affected(answering([]), 'INSERT INTO t VALUES (1)'), RowShapeError);
});

test('the error filter answers a row mismatch as a 500 INTERNAL, its message kept out', () => {
  const filter = new ErrorFilter(createLogger('sql-rows.spec', { level: 'silent' }));
  const answer = filter.toBody(new RowShapeError('SELECT id FROM t: a row is not as expected'));
  assert.deepEqual(answer, { statusCode: 500, code: 'INTERNAL', message: 'internal error' });
});
