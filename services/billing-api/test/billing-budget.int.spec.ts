import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type InvoiceEvent } from '@metering/contracts';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { BudgetCheckService } from '../src/budget/budget-check.service';
import { budgetEventIdOf } from '../src/events/invoice-event.factory';
import { InvoiceEventCollector } from './automation-fixtures';
import { BillingHarness } from './billing-harness';
import { WebhookReceiver } from './webhook-receiver';

// Budget thresholds over HTTP and the budget check against the real PostgreSQL ledger, with the
// outbox relay publishing to a real Kafka topic and webhooks delivered to a real receiver on
// 127.0.0.1. Usage here is written to the ledger directly (h.bucket) so amounts are exact and
// the checks are called at chosen moments; billing-budget-pipeline.int.spec.ts crosses a
// threshold with usage that the real rating service rated from real samples. One set-up (Kafka
// topic, receiver, tenants) serves both the HTTP tables and the checks.
const topic = uniqueName('billing_budget');
const h = new BillingHarness();
const events = new InvoiceEventCollector(topic);
const receiver = new WebhookReceiver();

interface Threshold {
  id: string;
  tenantId: string;
  amount: string;
  currency: string;
  createdBy: string;
  createdAt: string;
  period: string;
  reachedAt: string | null;
}
interface Problem {
  code: string;
  field?: string;
  detail: string;
  status: number;
}

const HOUR = 3_600_000;
const thisHour = () => new Date(Math.floor(Date.now() / HOUR) * HOUR).toISOString();
const period = () => new Date().toISOString().slice(0, 7);
const path = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}/budget-thresholds`;
const checker = () => h.app.get(BudgetCheckService);

async function create(tenant: string, amount: unknown, key?: string): Promise<Threshold> {
  const r = await h.call('POST', path(tenant), { body: { amount }, key });
  assert.equal(r.status, 201, r.text);
  return r.json as Threshold;
}
async function list(tenant: string, key?: string): Promise<Threshold[]> {
  const r = await h.call('GET', path(tenant), { key });
  assert.equal(r.status, 200, r.text);
  const body = r.json as { data: Threshold[]; nextCursor: null };
  assert.equal(body.nextCursor, null);
  return body.data;
}
const budgetEvents = () => events.ofType('budget.threshold_reached');
const outboxCount = async (tenant: string): Promise<number> =>
  (
    await h.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM event_outbox WHERE event_type = 'budget.threshold_reached' AND tenant_id = $1`,
      [tenant],
    )
  )[0]!.n;

let acmeKey = '';
let globexKey = '';

before(async () => {
  await h.start({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    EVENTS_TOPIC: topic,
    OUTBOX_RELAY_INTERVAL_MS: '100',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_POLL_MS: '50',
    // The checks run when a test calls them (the first, at start, finds no threshold).
    BUDGET_CHECK_INTERVAL_MS: '86400000',
  });
  await events.start();
  await receiver.start();
  await h.plan({ id: 'hourly', cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] } });
  await h.plan({
    id: 'yen',
    currency: 'JPY',
    cpu: { tiers: [{ upTo: null, unitPrice: '100' }] },
  });
  for (const id of ['acme', 'globex', 'limits', 'racer-1', 'racer-2', 'racer-3', 'failing']) {
    await h.tenant(id);
    await h.assign(id, 'hourly', '2026-01-01T00:00:00Z');
  }
  await h.tenant('kabushiki', 'JPY', 'Asia/Tokyo');
  await h.assign('kabushiki', 'yen', '2026-01-01T00:00:00Z');
  acmeKey = (await h.key('acme')).key;
  globexKey = (await h.key('globex')).key;
});

after(async () => {
  await events.stop();
  await receiver.stop();
  await h.stop();
});

describe('thresholds over HTTP', () => {
  test('the provider and the tenant set thresholds; amounts are exact in the tenant’s currency', async () => {
    const byAdmin = await create('acme', '100');
    assert.equal(byAdmin.amount, '100.00');
    assert.equal(byAdmin.currency, 'EUR');
    assert.equal(byAdmin.createdBy, 'admin');
    assert.match(byAdmin.id, /^bt_[0-9a-f]{24}$/);
    const byTenant = await create('acme', '250.5', acmeKey);
    assert.equal(byTenant.amount, '250.50');
    assert.equal(byTenant.createdBy, 'tenant');
    const seen = await list('acme', acmeKey);
    assert.deepEqual(
      seen.map((t) => [t.id, t.amount, t.period, t.reachedAt]),
      [
        [byAdmin.id, '100.00', period(), null],
        [byTenant.id, '250.50', period(), null],
      ],
    );
    assert.deepEqual(await list('acme'), seen, 'the admin sees the same');
    const yen = await create('kabushiki', '5000');
    assert.equal(yen.amount, '5000');
    assert.equal(yen.currency, 'JPY');
  });

  test('the same amount twice is a 409, also written otherwise and sent concurrently', async () => {
    for (const amount of ['100', '100.00', '100.0']) {
      const r = await h.call('POST', path('acme'), { body: { amount } });
      assert.equal(r.status, 409, `${amount}: ${r.text}`);
      const p = r.json as Problem;
      assert.equal(p.code, 'BUDGET_THRESHOLD_EXISTS');
      assert.equal(p.field, 'amount');
    }
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.call('POST', path('globex'), { body: { amount: '42.00' } }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, ...Array<number>(7).fill(409)]);
    assert.equal((await list('globex')).length, 1);
  });

  test('tenant scoping: another tenant’s id or threshold is a 404 like an unknown one', async () => {
    const [acmeThreshold] = await list('acme');
    for (const [method, url] of [
      ['GET', path('acme')],
      ['POST', path('acme')],
      ['DELETE', `${path('acme')}/${acmeThreshold!.id}`],
      ['GET', path('nobody')],
    ] as const) {
      const r = await h.call(method, url, {
        key: globexKey,
        ...(method === 'POST' ? { body: { amount: '1' } } : {}),
      });
      assert.equal(r.status, 404, `${method} ${url}: ${r.text}`);
      assert.equal((r.json as Problem).code, 'TENANT_NOT_FOUND');
    }
    const foreign = await h.call('DELETE', `${path('globex')}/${acmeThreshold!.id}`, {
      key: globexKey,
    });
    assert.equal(foreign.status, 404, foreign.text);
    assert.equal((foreign.json as Problem).code, 'BUDGET_THRESHOLD_NOT_FOUND');
    const unknown = await h.call('GET', path('nobody'));
    assert.equal((unknown.json as Problem).code, 'TENANT_NOT_FOUND');
    const anonymous = await h.call('GET', path('acme'), { key: null });
    assert.equal(anonymous.status, 401);
    assert.equal((await list('acme')).length, 2, 'nothing was deleted');
  });

  test('hostile bodies: a 400 problem naming the field, nothing stored', async () => {
    const cases: [string, string | undefined, string][] = [
      ['{"amount":"1\\u0000"}', undefined, 'amount'],
      [JSON.stringify({ amount: '9'.repeat(5000) }), undefined, 'amount'],
      [JSON.stringify({ amount: '1'.repeat(16) }), undefined, 'amount'],
      [JSON.stringify({ amount: '-5' }), undefined, 'amount'],
      [JSON.stringify({ amount: '0' }), undefined, 'amount'],
      [JSON.stringify({ amount: '0.00' }), undefined, 'amount'],
      [JSON.stringify({ amount: 'NaN' }), undefined, 'amount'],
      [JSON.stringify({ amount: 'Infinity' }), undefined, 'amount'],
      [JSON.stringify({ amount: '-Infinity' }), undefined, 'amount'],
      [JSON.stringify({ amount: '1e3' }), undefined, 'amount'],
      [JSON.stringify({ amount: '12.345' }), undefined, 'amount'],
      [JSON.stringify({ amount: '１００' }), undefined, 'amount'],
      [JSON.stringify({ amount: 'Ωμέγα' }), undefined, 'amount'],
      [JSON.stringify({ amount: ' 10' }), undefined, 'amount'],
      [JSON.stringify({ amount: '' }), undefined, 'amount'],
      [JSON.stringify({ amount: 100 }), undefined, 'amount'],
      ['{"amount":1e400}', undefined, 'amount'],
      [JSON.stringify({ amount: null }), undefined, 'amount'],
      [JSON.stringify({ amount: true }), undefined, 'amount'],
      [JSON.stringify({ amount: ['10'] }), undefined, 'amount'],
      [JSON.stringify({ amount: { value: '10' } }), undefined, 'amount'],
      [JSON.stringify({}), undefined, 'amount'],
      [JSON.stringify({ amount: '10', currency: 'USD' }), undefined, 'currency'],
      [JSON.stringify({ amount: '10', 'x\u0000': 1 }), undefined, 'x\u0000'],
      // An empty member name is named like every other field (found by the fuzz spec).
      [JSON.stringify({ amount: '10', '': 1 }), undefined, '""'],
      [JSON.stringify({ amount: '10', Ωμέγα: 1 }), undefined, 'Ωμέγα'],
      [JSON.stringify([{ amount: '10' }]), undefined, 'body'],
      ['"10"', undefined, 'body'],
      ['null', undefined, 'body'],
      ['{"amount":', undefined, 'body'],
    ];
    for (const [rawBody, key, field] of cases) {
      const r = await h.call('POST', path('acme'), { rawBody, key });
      assert.equal(r.status, 400, `${rawBody.slice(0, 40)}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
      const p = r.json as Problem;
      assert.equal(p.code, 'VALIDATION_FAILED', rawBody.slice(0, 40));
      if (field.includes('\u0000')) assert.ok(p.field !== undefined, 'a field is named');
      else assert.equal(p.field, field, `${rawBody.slice(0, 40)}: ${p.detail}`);
    }
    // Fraction digits are the currency's: none in yen.
    const yen = await h.call('POST', path('kabushiki'), { body: { amount: '100.5' } });
    assert.equal(yen.status, 400);
    assert.match((yen.json as Problem).detail, /without fraction digits/);
    const huge = await h.call('POST', path('acme'), {
      rawBody: JSON.stringify({ amount: '1'.repeat(2_000_000) }),
    });
    assert.equal(huge.status, 413);
    const notUtf8 = await h.call('POST', path('acme'), {
      rawBody: Buffer.from([0x7b, 0x22, 0x61, 0xff, 0x22, 0x7d]),
    });
    assert.equal(notUtf8.status, 400);
    assert.equal((await list('acme')).length, 2, 'nothing stored');
  });

  test('hostile ids: NUL, huge, non-ASCII, another shape', async () => {
    const cases: [string, number, string][] = [
      [`${path('acme')}/bt_%00`, 400, 'thresholdId'],
      [`${path('acme')}/${'a'.repeat(5000)}`, 400, 'thresholdId'],
      [`${path('acme')}/bt_ωμέγα`, 400, 'thresholdId'],
      [`${path('acme')}/-1`, 400, 'thresholdId'],
      [`${path('acme')}/bt_${'0'.repeat(24)}`, 404, 'BUDGET_THRESHOLD_NOT_FOUND'],
      [`/v1/tenants/ac%00me/budget-thresholds`, 400, 'id'],
    ];
    for (const [url, status, what] of cases) {
      const r = await h.call(url.includes('ac%00me') ? 'GET' : 'DELETE', url);
      assert.equal(r.status, status, `${url.slice(0, 60)}: ${r.text}`);
      const p = r.json as Problem;
      if (status === 400) assert.equal(p.field, what);
      else assert.equal(p.code, what);
    }
  });

  test('at most 20 per tenant, also when created concurrently; delete frees a place', async () => {
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        h.call('POST', path('limits'), { body: { amount: `${i + 1}.00` } }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 20, statuses.join(','));
    for (const a of answers.filter((x) => x.status !== 201)) {
      assert.equal(a.status, 409);
      assert.equal((a.json as Problem).code, 'BUDGET_THRESHOLD_LIMIT');
    }
    const all = await list('limits');
    assert.equal(all.length, 20);
    const gone = await h.call('DELETE', `${path('limits')}/${all[0]!.id}`);
    assert.equal(gone.status, 204, gone.text);
    const again = await h.call('DELETE', `${path('limits')}/${all[0]!.id}`);
    assert.equal(again.status, 404);
    assert.equal((again.json as Problem).code, 'BUDGET_THRESHOLD_NOT_FOUND');
    await create('limits', '999.99');
    assert.equal((await list('limits')).length, 20);
  });

  test('Idempotency-Key: a retried POST is replayed byte for byte and stores one threshold', async () => {
    const headers = { 'idempotency-key': 'budget-retry-1' };
    const first = await h.call('POST', path('globex'), { body: { amount: '77.70' }, headers });
    const retry = await h.call('POST', path('globex'), { body: { amount: '77.70' }, headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(retry.status, 201);
    assert.equal(retry.text, first.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const other = await h.call('POST', path('globex'), { body: { amount: '77.71' }, headers });
    assert.equal(other.status, 422);
    assert.equal((other.json as Problem).code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await list('globex')).filter((t) => t.amount === '77.70').length, 1);
  });
});

describe('the budget check', () => {
  test('thresholds fire once each as the draft grows, a threshold set below the amount fires on the next check, and the webhook and Kafka see each once', async () => {
    const endpoint = await h.call('POST', '/v1/webhook-endpoints', {
      key: acmeKey,
      body: { url: receiver.url, eventTypes: ['budget.threshold_reached'] },
    });
    assert.equal(endpoint.status, 201, endpoint.text);
    receiver.secrets = [(endpoint.json as { secret: string }).secret];
    const [t100, t250] = await list('acme');

    await h.bucket('acme', 'c-1', thisHour(), '99.99');
    let report = await checker().runOnce();
    assert.equal(report.ran, true);
    assert.equal(await outboxCount('acme'), 0, '99.99 reaches nothing');

    await h.bucket('acme', 'c-2', thisHour(), '0.01');
    report = await checker().runOnce();
    assert.equal(await outboxCount('acme'), 1, '100.00 reaches 100.00');
    for (let i = 0; i < 3; i++) await checker().runOnce();
    assert.equal(await outboxCount('acme'), 1, 'and only once');

    const [row] = await h.db.query<{ payload: string }[]>(
      `SELECT payload FROM event_outbox WHERE event_id = $1`,
      [budgetEventIdOf('acme', t100!.id, period())],
    );
    const event = JSON.parse(row!.payload) as InvoiceEvent;
    assert.ok(event.type === 'budget.threshold_reached');
    assert.deepEqual(
      { ...event.data.budget, crossedAt: undefined },
      {
        thresholdId: t100!.id,
        threshold: '100.00',
        amount: '100.00',
        currency: 'EUR',
        period: period(),
        crossedAt: undefined,
      },
    );
    assert.equal(event.occurredAt, event.data.budget.crossedAt);
    const listed = await list('acme', acmeKey);
    assert.equal(listed[0]!.reachedAt, event.data.budget.crossedAt);
    assert.equal(listed[1]!.reachedAt, null);

    // Set below what the month already reached: fires on the next check, once.
    const t50 = await create('acme', '50', acmeKey);
    await checker().runOnce();
    await checker().runOnce();
    assert.equal(await outboxCount('acme'), 2);

    await h.bucket('acme', 'c-1', thisHour(), '200');
    await checker().runOnce();
    await checker().runOnce();
    assert.equal(await outboxCount('acme'), 3);

    const ids = [t100!, t50, t250!].map((t) => budgetEventIdOf('acme', t.id, period()));
    await waitFor(() => ids.every((id) => receiver.acknowledged.has(id)), {
      timeoutMs: 15_000,
      description: 'three deliveries acknowledged',
    });
    await waitFor(() => budgetEvents().filter((e) => e.tenantId === 'acme').length >= 3, {
      timeoutMs: 20_000,
      description: 'three budget events on Kafka',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const id of ids) {
      assert.equal(receiver.acknowledged.get(id), 1, `webhook ${id} once`);
      assert.equal(receiver.processed.get(id), 1);
      assert.equal(budgetEvents().filter((e) => e.eventId === id).length, 1, `Kafka ${id} once`);
    }
    assert.equal(receiver.requests.filter((r) => ids.includes(r.eventId)).length, 3);
    const amounts = ids.map((id) => {
      const e = receiver.bodies.get(id) as {
        data: { budget: { threshold: string; amount: string } };
      };
      return [e.data.budget.threshold, e.data.budget.amount];
    });
    assert.deepEqual(amounts, [
      ['100.00', '100.00'],
      ['50.00', '100.00'],
      ['250.50', '300.00'],
    ]);
    assert.deepEqual(events.rejected, []);
    const metrics = (await h.call('GET', '/metrics', { key: null })).text;
    assert.match(metrics, /\nbilling_api_budget_thresholds_reached_total\{[^}]*\} 3\n/);
    assert.match(metrics, /\nbilling_api_budget_check_failures_total\{[^}]*\} 0\n/);
    assert.match(metrics, /\nbilling_api_budget_check_last_success_timestamp_seconds\{[^}]*\} \d/);
  });

  test('a tenant whose check fails is counted and retried; the others are not held up', async () => {
    const failing = await create('failing', '1');
    const other = await create('globex', '0.01');
    await h.bucket('failing', 'c-f', thisHour(), '5');
    await h.bucket('globex', 'c-g', thisHour(), '5');
    await h.db.query(
      `CREATE FUNCTION refuse_failing() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.tenant_id = 'failing' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`,
    );
    await h.db.query(
      `CREATE TRIGGER refuse_failing BEFORE INSERT ON budget_crossing FOR EACH ROW EXECUTE FUNCTION refuse_failing()`,
    );
    try {
      const report = await checker().runOnce();
      assert.equal(report.failed, 1);
      assert.equal(await outboxCount('failing'), 0, 'no event without its crossing');
      assert.equal(await outboxCount('globex'), 1, 'the other tenant fired');
      const metrics = (await h.call('GET', '/metrics', { key: null })).text;
      assert.match(metrics, /\nbilling_api_budget_check_failures_total\{[^}]*\} 1\n/);
    } finally {
      await h.db.query(`DROP TRIGGER refuse_failing ON budget_crossing`);
    }
    const report = await checker().runOnce();
    assert.equal(report.failed, 0);
    assert.equal(await outboxCount('failing'), 1, 'the next run fires it');
    assert.ok(failing.id !== other.id);
  });

  test('two billing-api instances racing write one crossing and one event per threshold', async () => {
    const { app: second } = await h.another({ BUDGET_CHECK_INTERVAL_MS: '86400000' });
    const other = second.get(BudgetCheckService);
    const racers = ['racer-1', 'racer-2', 'racer-3'];
    const thresholds: Threshold[] = [];
    for (const [round, amounts] of [
      ['checkAll', ['1', '2', '3']],
      ['runOnce', ['4', '5', '6']],
    ] as const) {
      const created: Threshold[] = [];
      for (const id of racers) for (const a of amounts) created.push(await create(id, a));
      for (const id of racers) await h.bucket(id, `c-${id}`, thisHour(), '4');
      thresholds.push(...created);
      // checkAll bypasses the advisory lock (it only saves work): the crossing's key decides.
      const reports = await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const instance = i % 2 === 0 ? checker() : other;
          return round === 'checkAll' ? instance.checkAll() : instance.runOnce();
        }),
      );
      const fired = reports.reduce((sum, r) => sum + r.reached, 0);
      assert.equal(fired, created.length, `${round}: each crossing reported once`);
      assert.ok(reports.every((r) => r.failed === 0));
    }
    for (const id of racers) {
      assert.equal(await outboxCount(id), 6, `${id}: six events`);
    }
    const crossings = await h.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM budget_crossing WHERE tenant_id = ANY ($1)`,
      [racers],
    );
    assert.equal(crossings[0]!.n, thresholds.length);
    await waitFor(
      () => budgetEvents().filter((e) => racers.includes(e.tenantId ?? '')).length >= 18,
      { timeoutMs: 20_000, description: 'eighteen events on Kafka' },
    );
    const ids = budgetEvents()
      .filter((e) => racers.includes(e.tenantId ?? ''))
      .map((e) => e.eventId);
    assert.equal(new Set(ids).size, ids.length, 'no event twice on Kafka');
  });
});
