import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { APP_ROLE } from '@metering/testing';
import { BillingHarness } from './billing-harness';

// The harness runs billing-api as production does: its pool logs in as the app role, and the
// migration step at start runs as the owner (DATABASE_MIGRATION_URL) and grants that role.
const h = new BillingHarness();
/** The service's own pool: what every route's SQL runs on. */
let pool: DataSource;

before(async () => {
  await h.start();
  pool = h.app.get(DataSource);
  await h.plan({ id: 'one', cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] } });
  await h.tenant('acme', 'EUR', 'UTC', 'Acme');
  await h.assign('acme', 'one', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'c1', '2025-11-03T00:00:00Z', '40');
});
after(() => h.stop());

test("the service's sessions are the app role, neither owner nor superuser", async () => {
  const rows = await pool.query<{ u: string; su: boolean; owner: string }[]>(
    `SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su,
            (SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'invoice') AS owner`,
    [h.schema],
  );
  assert.equal(rows[0]?.u, APP_ROLE);
  assert.equal(rows[0]?.su, false);
  assert.notEqual(rows[0]?.owner, APP_ROLE);
});

test('the whole invoice flow works as the app role: close, PDF twice, credit note', async () => {
  const close = await h.call('POST', '/v1/periods/2025-11/close');
  assert.equal(close.status, 200, close.text);
  const first = await h.call('GET', '/v1/tenants/acme/invoices/2025-11?format=pdf');
  assert.equal(first.status, 200, first.text);
  const again = await h.call('GET', '/v1/tenants/acme/invoices/2025-11?format=pdf');
  assert.ok(first.buffer.equals(again.buffer), 'the stored PDF, byte for byte');
  const invoice = (await h.call('GET', '/v1/tenants/acme/invoices/2025-11')).json as {
    number: string;
    status: string;
  };
  assert.equal(invoice.status, 'final');
  const note = await h.call('POST', `/v1/invoices/${invoice.number}/credit-notes`, {
    body: { reason: 'goodwill' },
  });
  assert.equal(note.status, 201, note.text);
});

test('the app role is refused TRUNCATE, UPDATE or DELETE of final documents and any DDL', async () => {
  const number = (
    (await h.call('GET', '/v1/tenants/acme/invoices/2025-11')).json as {
      number: string;
    }
  ).number;
  for (const [sql, error] of [
    [`TRUNCATE invoice CASCADE`, /permission denied for table invoice/],
    [`TRUNCATE usage_bucket`, /permission denied for table usage_bucket/],
    [
      `UPDATE invoice SET total = 0 WHERE number = '${number}'`,
      /permission denied for table invoice/,
    ],
    [`DELETE FROM invoice WHERE number = '${number}'`, /permission denied for table invoice/],
    [`UPDATE document_pdf SET pdf = '\\x00'`, /permission denied for table document_pdf/],
    [`DELETE FROM credit_note`, /permission denied for table credit_note/],
    [`ALTER TABLE invoice DISABLE TRIGGER ALL`, /must be owner/],
    [`DROP TABLE usage_bucket`, /must be owner/],
    [`ALTER TABLE tenant ADD COLUMN x int`, /must be owner/],
    [`CREATE TABLE shadow (id int)`, /permission denied for schema/],
    [`SET session_replication_role = replica`, /permission denied/],
  ] as const) {
    await assert.rejects(pool.query(sql), error, sql);
  }
  const still = await h.call('GET', '/v1/tenants/acme/invoices/2025-11');
  assert.equal((still.json as { number: string }).number, number);
});
