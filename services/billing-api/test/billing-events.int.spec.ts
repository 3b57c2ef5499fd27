import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { invoiceEventIdOf } from '@metering/contracts';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { BillingHarness, type InvoiceJson } from './billing-harness';
import { InvoiceEventCollector } from './automation-fixtures';

const topic = uniqueName('billing_invoices');
const h = new BillingHarness();
const events = new InvoiceEventCollector(topic);
const TENANTS = ['acme', 'globex', 'initech'];

before(async () => {
  await h.start({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    EVENTS_TOPIC: topic,
    OUTBOX_RELAY_INTERVAL_MS: '100',
  });
  await events.start();
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.040' }] } });
  for (const [i, id] of TENANTS.entries()) {
    await h.tenant(id);
    await h.assign(id, 'std', '2026-10-01T00:00:00Z');
    await h.bucket(id, `c-${id}`, '2026-10-05T10:00:00Z', String(10 * (i + 1)));
  }
});

after(async () => {
  await events.stop();
  await h.stop();
});

test('closing a month publishes one invoice.finalized per invoice, from the outbox', async () => {
  const r = await h.call('POST', '/v1/periods/2026-10/close');
  assert.equal(r.status, 200, r.text);
  await waitFor(() => events.ofType('invoice.finalized').length >= TENANTS.length, {
    timeoutMs: 20_000,
    description: 'three invoice.finalized on Kafka',
  });
  const finalized = events.ofType('invoice.finalized');
  assert.deepEqual(events.rejected, []);
  assert.equal(finalized.length, TENANTS.length);
  for (const [i, id] of TENANTS.entries()) {
    const event = finalized.find((e) => e.tenantId === id);
    assert.ok(event, `an event for ${id}`);
    assert.equal(event.eventId, invoiceEventIdOf('invoice.finalized', [id, '2026-10']));
    const invoice = (await h.call('GET', `/v1/tenants/${id}/invoices/2026-10`)).json as InvoiceJson;
    assert.ok(event.type === 'invoice.finalized');
    assert.deepEqual(event.data.invoice, {
      period: '2026-10',
      number: invoice.number,
      currency: 'EUR',
      subtotal: invoice.subtotal,
      total: invoice.total,
      contentHash: invoice.contentHash,
    });
    // 10 × (i+1) vCPU-hours at 0.040: exact decimal strings.
    assert.equal(event.data.invoice.total, ['0.40', '0.80', '1.20'][i]);
    assert.equal(events.keys[events.events.indexOf(event)], id, 'keyed by tenant');
  }
  const rows = await h.db.query<{ pending: number; sent: number }[]>(
    `SELECT count(*) FILTER (WHERE sent_at IS NULL)::int AS pending,
            count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS sent FROM event_outbox`,
  );
  await waitFor(
    async () =>
      (
        await h.db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM event_outbox WHERE sent_at IS NULL`,
        )
      )[0]!.n === 0,
    { timeoutMs: 5_000, description: 'outbox marked sent' },
  );
  assert.equal(rows[0]!.pending + rows[0]!.sent, TENANTS.length);
});

test('closing again adds no event; the outbox lag is on /metrics', async () => {
  const r = await h.call('POST', '/v1/periods/2026-10/close');
  assert.equal(r.status, 200, r.text);
  assert.equal((r.json as { finalized: number }).finalized, 0);
  const n = await h.db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM event_outbox`);
  assert.equal(n[0]!.n, TENANTS.length);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(events.ofType('invoice.finalized').length, TENANTS.length);
  const metrics = (await h.call('GET', '/metrics', { key: null })).text;
  assert.match(metrics, /\nbilling_api_event_outbox_pending\{[^}]*\} 0\n/);
  assert.match(metrics, /\nbilling_api_event_outbox_oldest_seconds\{[^}]*\} 0\n/);
  assert.match(
    metrics,
    new RegExp(`\nbilling_api_events_published_total\\{[^}]*\\} ${TENANTS.length}\n`),
  );
});

test('a rolled-back close leaves no event behind', async () => {
  // A tenant whose finalisation fails: the invoice row is refused, so must the event be.
  await h.tenant('zeta');
  await h.db.query(
    `CREATE FUNCTION refuse_zeta() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN IF NEW.tenant_id = 'zeta' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`,
  );
  await h.db.query(
    `CREATE TRIGGER refuse_zeta BEFORE INSERT ON invoice FOR EACH ROW EXECUTE FUNCTION refuse_zeta()`,
  );
  const r = await h.call('POST', '/v1/periods/2026-11/close');
  assert.equal(r.status, 500);
  const n = await h.db.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM event_outbox WHERE event_type = 'invoice.finalized' AND payload LIKE '%2026-11%'`,
  );
  assert.equal(n[0]!.n, 0);
  // The API's close is recorded like the scheduler's and the CLI's (`billing schedule` shows it).
  const runOf = async (): Promise<{
    status: string;
    started_by: string;
    attempts: number;
    last_error: string | null;
  }> =>
    (
      await h.db.query<
        { status: string; started_by: string; attempts: number; last_error: string | null }[]
      >(
        `SELECT status, started_by, attempts, last_error FROM billing_close_run WHERE period = '2026-11'`,
      )
    )[0]!;
  const failedRun = await runOf();
  assert.equal(failedRun.status, 'failed');
  assert.equal(failedRun.started_by, 'api');
  assert.match(String(failedRun.last_error), /refused/);
  await h.db.query(`DROP TRIGGER refuse_zeta ON invoice`);
  const again = await h.call('POST', '/v1/periods/2026-11/close');
  assert.equal(again.status, 200, again.text);
  const run = await runOf();
  assert.deepEqual(
    [run.status, run.started_by, run.attempts, run.last_error],
    ['succeeded', 'api', 2, null],
  );
  await waitFor(() => events.ofType('invoice.finalized').length === TENANTS.length + 4, {
    timeoutMs: 20_000,
    description: 'four more invoice.finalized',
  });
});
