import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { PortalClient } from './portal-client';

/**
 * GET /v1/tenants/:id/overview on real ledger rows: month-to-date against last month at the same
 * local day and time (Europe/Paris, across the DST change), the month's draft lines as the
 * invoice prices them, the run-rate forecast, completeness; through a portal session.
 */
const h = new BillingHarness();
// 15 Nov 2026 12:00 in Paris (UTC+1): the same point of October is 15 Oct 12:00 CEST = 10:00Z.
const AT = '2026-11-15T12:00:00+01:00';

before(async () => {
  await h.start();
  await h.tenant('acme', 'EUR', 'Europe/Paris');
  await h.tenant('globex', 'USD');
  await h.plan({
    id: 'std',
    cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] },
    memory: { tiers: [{ upTo: null, unitPrice: '0.01' }] },
  });
  await h.assign('acme', 'std', '2026-01-01T00:00:00Z');
  // November: two buckets before AT, one after (in the draft, not in the month to date).
  await h.bucket('acme', 'web-1', '2026-11-02T10:00:00Z', '10', '20', { gapMs: 360_000 });
  await h.bucket('acme', 'web-1', '2026-11-15T10:00:00Z', '5');
  await h.bucket('acme', 'web-1', '2026-11-15T11:00:00Z', '7');
  // October: 3 Oct and 15 Oct 09:00Z count; 15 Oct 10:00Z starts at the same point, not before.
  await h.bucket('acme', 'db-1', '2026-10-03T08:00:00Z', '4');
  await h.bucket('acme', 'db-1', '2026-10-15T09:00:00Z', '2');
  await h.bucket('acme', 'db-1', '2026-10-15T10:00:00Z', '3');
  await h.bucket('globex', 'x', '2026-11-02T10:00:00Z', '99');
});
after(() => h.stop());

interface Overview {
  tenantId: string;
  timeZone: string;
  currency: string;
  at: string;
  period: { period: string; start: string; end: string; elapsedShare: string };
  monthToDate: Record<string, string>;
  lastMonthToDate: Record<string, string>;
  invoice: { status: string; total: string; lines: { meter: string; quantity: string }[] };
  forecast: Record<string, unknown>;
  completeness: { observedMs: string; gapMs: string; ratio: string | null };
  budgetThresholds: unknown[];
}

function problem(r: ApiAnswer, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, r.text);
  const body = r.json as { code: string; field?: string };
  assert.equal(body.code, code);
  if (field !== undefined) assert.equal(body.field, field);
}

test('month to date against last month at the same point, the draft, the forecast', async () => {
  const r = await h.call('GET', `/v1/tenants/acme/overview?at=${encodeURIComponent(AT)}`);
  assert.equal(r.status, 200, r.text);
  const o = r.json as Overview;
  assert.equal(o.timeZone, 'Europe/Paris');
  assert.equal(o.at, '2026-11-15T11:00:00.000Z');
  assert.deepEqual(o.period, {
    period: '2026-11',
    start: '2026-10-31T23:00:00.000Z',
    end: '2026-11-30T23:00:00.000Z',
    elapsedShare: '0.483333', // 348 of 720 hours
  });
  assert.deepEqual(o.monthToDate, {
    period: '2026-11',
    from: '2026-10-31T23:00:00.000Z',
    to: '2026-11-15T11:00:00.000Z',
    amount: '0.80', // 15 core-hours × 0.04 + 20 GiB-hours × 0.01
    currency: 'EUR',
    cpuCoreHours: '15',
    memoryGibHours: '20',
  });
  assert.deepEqual(o.lastMonthToDate, {
    period: '2026-10',
    from: '2026-09-30T22:00:00.000Z',
    to: '2026-10-15T10:00:00.000Z',
    amount: '0.24',
    currency: 'EUR',
    cpuCoreHours: '6',
    memoryGibHours: '0',
  });
  assert.equal(o.invoice.status, 'draft');
  assert.equal(o.invoice.total, '1.08'); // the whole month so far: 22 core-hours, 20 GiB-hours
  assert.deepEqual(
    o.invoice.lines.map((l) => [l.meter, l.quantity]),
    [
      ['cpu', '22'],
      ['memory', '20'],
    ],
  );
  // The invoice of the month answers the same lines.
  const invoice = await h.call('GET', '/v1/tenants/acme/invoices/2026-11');
  assert.deepEqual((invoice.json as { lines: unknown }).lines, o.invoice.lines);
  assert.deepEqual(o.completeness, (invoice.json as { completeness: unknown }).completeness);
  assert.deepEqual(o.forecast, {
    isForecast: true,
    method: 'linear-run-rate',
    description: o.forecast.description,
    elapsedShare: '0.483333',
    usageAmount: '1.66', // 0.80 / (348/720)
    amount: '1.66',
    currency: 'EUR',
    cpuCoreHours: '31.034483',
    memoryGibHours: '41.37931',
  });
  assert.match(String(o.forecast.description), /forecast/);
  assert.deepEqual(o.budgetThresholds, []);

  // A threshold shows in the overview exactly as the budget list answers it.
  const created = await h.call('POST', '/v1/tenants/acme/budget-thresholds', {
    body: { amount: '5' },
  });
  assert.equal(created.status, 201, created.text);
  const list = await h.call('GET', '/v1/tenants/acme/budget-thresholds');
  const again = await h.call('GET', `/v1/tenants/acme/overview?at=${encodeURIComponent(AT)}`);
  const thresholds = (again.json as Overview).budgetThresholds;
  assert.equal(thresholds.length, 1);
  assert.deepEqual(thresholds, (list.json as { data: unknown[] }).data);
  assert.equal((thresholds[0] as { amount: string }).amount, '5.00');
});

test('through a portal session; now by default; input errors name `at`', async () => {
  const key = await h.key('acme');
  const browser = new PortalClient(h);
  await browser.signIn({ apiKey: key.key });
  const now = await browser.call('GET', '/v1/tenants/acme/overview');
  assert.equal(now.status, 200, now.text);
  const o = now.json as Overview;
  assert.ok(Math.abs(Date.parse(o.at) - Date.now()) < 60_000);
  assert.equal(o.monthToDate.period, o.period.period);
  problem(await browser.call('GET', '/v1/tenants/globex/overview'), 404, 'TENANT_NOT_FOUND');
  const future = new Date(Date.now() + 86_400_000).toISOString();
  problem(
    await browser.call('GET', `/v1/tenants/acme/overview?at=${future}`),
    422,
    'RANGE_INVALID',
    'at',
  );
  for (const at of [
    '2026-02-31T00:00:00Z',
    'yesterday',
    '2026-11-15',
    '%00',
    `${'9'.repeat(5000)}`,
    '2026-11-15T12:00:00Z&at=2026-11-16T12:00:00Z',
    '２０２６-11-15T12:00:00Z',
  ]) {
    const r = await browser.call('GET', `/v1/tenants/acme/overview?at=${at}`);
    problem(r, 400, 'VALIDATION_FAILED', 'at');
  }
  problem(await h.call('GET', '/v1/tenants/acme/overview', { key: null }), 401, 'UNAUTHENTICATED');
});
