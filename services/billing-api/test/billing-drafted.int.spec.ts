import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { invoiceEventIdOf } from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { BillingHarness } from './billing-harness';

// A grace of 40 days: the month before last is due, last month is in its grace (drafts only).
const h = new BillingHarness();
const now = new Date();
const [due, inGrace] = [2, 1].map((back) => {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}) as [string, string];
// Last month ended at the start of this one: a grace of that long plus a day keeps it in grace,
// and is far shorter than the month before last has been over.
const graceMs = Date.now() - Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) + 86_400_000;

before(async () => {
  await h.start();
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.040' }] } });
  for (const id of ['acme', 'globex']) {
    await h.tenant(id);
    await h.assign(id, 'std', `${due}-01T00:00:00Z`);
    await h.bucket(id, `c-${id}`, `${inGrace}-05T10:00:00Z`, '10');
  }
  // The scheduler starts once the usage is in: a draft it made before would be of an empty month.
  await h.another({
    SCHEDULED_CLOSE: 'on',
    SCHEDULED_CLOSE_INTERVAL_MS: '100',
    CLOSE_GRACE_MS: String(graceMs),
  });
});

after(() => h.stop());

test('a month in its grace gets one invoice.drafted per tenant and no final invoice', async () => {
  const ids = ['acme', 'globex'].map((t) => invoiceEventIdOf('invoice.drafted', [t, inGrace]));
  await waitFor(
    async () =>
      (
        await h.db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM event_outbox WHERE event_id = ANY ($1)`,
          [ids],
        )
      )[0]!.n === 2,
    { timeoutMs: 15_000, description: 'two invoice.drafted' },
  );
  await new Promise((resolve) => setTimeout(resolve, 500)); // more runs: still one each
  const rows = await h.db.query<{ payload: string }[]>(
    `SELECT payload FROM event_outbox WHERE event_type = 'invoice.drafted' ORDER BY tenant_id`,
  );
  const drafted = rows.map(
    (r) =>
      JSON.parse(r.payload) as { tenantId: string; data: { invoice: Record<string, unknown> } },
  );
  assert.equal(drafted.filter((e) => e.data.invoice.period === inGrace).length, 2);
  assert.deepEqual(
    drafted.find((e) => e.data.invoice.period === inGrace && e.tenantId === 'acme')!.data.invoice,
    {
      period: inGrace,
      number: null,
      currency: 'EUR',
      subtotal: '0.40',
      total: '0.40',
      contentHash: null,
    },
  );
  const finals = await h.db.query<{ period: string; n: number }[]>(
    `SELECT period, count(*)::int AS n FROM invoice GROUP BY 1 ORDER BY 1`,
  );
  assert.deepEqual(finals, [{ period: due, n: 2 }], 'only the due month is final');
});
