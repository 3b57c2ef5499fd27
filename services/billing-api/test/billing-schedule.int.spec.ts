import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { ADMIN_KEY, BillingHarness } from './billing-harness';
import { InvoiceEventCollector } from './automation-fixtures';

const run = promisify(execFile);
const CLI = join(__dirname, '../src/cli/billing.cli.js');
const topic = uniqueName('billing_invoices_sched');
const env = {
  KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
  EVENTS_TOPIC: topic,
  OUTBOX_RELAY_INTERVAL_MS: '100',
  SCHEDULED_CLOSE: 'on',
  SCHEDULED_CLOSE_INTERVAL_MS: '100',
  SCHEDULED_CLOSE_LOOKBACK_MONTHS: '2',
};
const h = new BillingHarness();
let secondUrl = '';
const events = new InvoiceEventCollector(topic);
const TENANTS = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(3, '0')}`);
// The real clock says December 2026 (or later): the two months before are due.
const now = new Date();
const months = [2, 1].map((back) => {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
});

before(async () => {
  await events.start();
  await h.start(env);
  secondUrl = (await h.another(env)).url;
});

after(async () => {
  await events.stop();
  await h.stop();
});

test('two instances racing the scheduled close (and manual closes): one set of invoices, gap-free numbers, one invoice.finalized each', async () => {
  // All tenants appear at once, in zones on both sides of UTC; both schedulers see them next run.
  await h.db.query(
    `INSERT INTO tenant (id, name, time_zone, currency)
     SELECT id, upper(id), CASE WHEN n % 3 = 0 THEN 'America/New_York' WHEN n % 3 = 1 THEN 'Asia/Kolkata' ELSE 'UTC' END, 'EUR'
     FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n)`,
    [TENANTS],
  );
  // And an operator closing by hand on both instances at the same moment.
  const manual = await Promise.all(
    [h.baseUrl, secondUrl].map((base) =>
      fetch(`${base}/v1/periods/${months[1]}/close`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      }).then((r) => r.status),
    ),
  );
  assert.deepEqual(manual, [200, 200]);
  const expected = TENANTS.length * months.length;
  await waitFor(
    async () =>
      (await h.db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM invoice`))[0]!.n ===
      expected,
    { timeoutMs: 30_000, description: `${expected} final invoices` },
  );
  for (const period of months) {
    const rows = await h.db.query<{ tenant_id: string; sequence: number; number: string }[]>(
      `SELECT tenant_id, sequence, number FROM invoice WHERE period = $1 ORDER BY sequence`,
      [period],
    );
    assert.deepEqual(
      rows.map((r) => r.sequence),
      TENANTS.map((_, i) => i + 1),
      `${period}: numbers 1..${TENANTS.length} without a gap`,
    );
    assert.equal(
      new Set(rows.map((r) => r.tenant_id)).size,
      TENANTS.length,
      'one invoice per tenant',
    );
    assert.equal(rows[0]!.number, `INV-${period}-000001`);
  }
  await waitFor(() => events.ofType('invoice.finalized').length >= expected, {
    timeoutMs: 30_000,
    description: `${expected} invoice.finalized on Kafka`,
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // anything sent twice would show now
  const finalized = events.ofType('invoice.finalized');
  assert.equal(finalized.length, expected, 'each invoice.finalized published once');
  assert.equal(new Set(finalized.map((e) => e.eventId)).size, expected);
  const outbox = await h.db.query<{ t: string; n: number; d: number }[]>(
    `SELECT event_type AS t, count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM event_outbox GROUP BY 1`,
  );
  const finalRow = outbox.find((r) => r.t === 'invoice.finalized');
  assert.deepEqual(finalRow, { t: 'invoice.finalized', n: expected, d: expected });
  const drafted = outbox.find((r) => r.t === 'invoice.drafted');
  assert.ok(
    drafted === undefined || drafted.n <= expected,
    'at most one invoice.drafted per invoice',
  );
  const runs = await h.db.query<{ period: string; status: string }[]>(
    `SELECT period, status FROM billing_close_run ORDER BY period`,
  );
  // The month closed by hand may have had nothing left for the schedule; the other was its.
  assert.ok(runs.some((r) => r.period === months[0]));
  assert.ok(
    runs.every((r) => r.status === 'succeeded'),
    JSON.stringify(runs),
  );
});

test('a tenant registered later gets its invoices at the next run, numbered after the others', async () => {
  await h.tenant('zz-late');
  await waitFor(
    async () =>
      (
        await h.db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM invoice WHERE tenant_id = 'zz-late'`,
        )
      )[0]!.n === months.length,
    { timeoutMs: 15_000, description: 'the late tenant closed' },
  );
  const rows = await h.db.query<{ sequence: number }[]>(
    `SELECT sequence FROM invoice WHERE tenant_id = 'zz-late' ORDER BY period`,
  );
  assert.deepEqual(
    rows.map((r) => r.sequence),
    months.map(() => TENANTS.length + 1),
  );
});

test('the CronJob command: one run, and nothing while another instance holds the lock', async () => {
  const cliEnv = {
    ...process.env,
    DATABASE_URL: localInfra.postgresUrl,
    DATABASE_SCHEMA: h.schema,
    CLOSE_GRACE_MS: '0',
    LOG_LEVEL: 'silent',
  };
  // Hold the schedule's lock as a running instance would.
  const holder = h.db.createQueryRunner();
  await holder.connect();
  await holder.query(`SELECT pg_advisory_lock(hashtext($1))`, [
    `metering-scheduled-close:${h.schema}`,
  ]);
  try {
    const { stdout } = await run('node', [CLI, 'close-due', '--json'], {
      env: cliEnv,
      timeout: 60_000,
    });
    assert.equal((JSON.parse(stdout) as { ran: boolean }).ran, false);
  } finally {
    await holder.query(`SELECT pg_advisory_unlock(hashtext($1))`, [
      `metering-scheduled-close:${h.schema}`,
    ]);
    await holder.release();
  }
  // The schedulers of both instances may be running too: retry until this one gets the lock.
  const report = await waitFor(
    async () => {
      const { stdout } = await run('node', [CLI, 'close-due', '--json'], {
        env: cliEnv,
        timeout: 60_000,
      });
      const r = JSON.parse(stdout) as { ran: boolean; closed: object; failed: object };
      return r.ran ? r : undefined;
    },
    { timeoutMs: 60_000, description: 'close-due ran' },
  );
  assert.deepEqual(report.closed, {}, 'nothing left to close');
  assert.deepEqual(report.failed, {});
});
