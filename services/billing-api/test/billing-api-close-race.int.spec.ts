import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { assertProblem, startWithResources } from './resources-harness';

/**
 * A plan assignment racing the close of its month (issue 15, items 2 and 4), over HTTP on a real
 * billing-api and PostgreSQL: the close prices it, or it is refused; never lost.
 */
const h = new BillingHarness();

before(async () => {
  await startWithResources(h);
});
after(() => h.stop());

describe('a plan assignment racing the close of its month', () => {
  test('either the close prices the assignment, or the assignment is a 409: never lost', async (t) => {
    await h.plan({ id: 'race', cpu: { tiers: [{ upTo: null, unitPrice: '0' }] }, minimum: '10' });
    const outcomes = { assignedFirst: 0, closedFirst: 0 };
    const ROUNDS = 32;
    // Each month is closed while a fresh tenant is assigned a plan (10.00 minimum) from its
    // first hour: the final invoice is 10.00 exactly when the assignment was accepted. The
    // assignment starts after a delay spread over the previous close's duration, so the rounds
    // land before, inside (between pricing and finalising) and after the close.
    let lastCloseMs = 30;
    for (let i = 0; i < ROUNDS; i++) {
      const period = `${2022 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
      const tenant = `race-${i}`;
      await h.tenant(tenant);
      const delayMs = Math.round(((i % 8) / 8) * 1.5 * lastCloseMs);
      const assign = async (): Promise<ApiAnswer> => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return h.call('PUT', `/v1/tenants/${tenant}/plan`, {
          body: { planId: 'race', effectiveFrom: `${period}-01T00:00:00Z` },
        });
      };
      const closeStarted = Date.now();
      const [put, close] = await Promise.all([
        assign(),
        h.call('POST', `/v1/periods/${period}/close`).then((r) => {
          lastCloseMs = Date.now() - closeStarted;
          return r;
        }),
      ]);
      assert.equal(close.status, 200, close.text);
      const invoice = (await h.call('GET', `/v1/tenants/${tenant}/invoices/${period}`)).json as {
        status: string;
        total: string;
      };
      assert.equal(invoice.status, 'final');
      if (put.status === 200) {
        outcomes.assignedFirst += 1;
        assert.equal(invoice.total, '10.00', `${period}: accepted, so priced`);
      } else {
        outcomes.closedFirst += 1;
        const p = assertProblem(put, 409, 'PERIOD_CLOSED');
        assert.match(p.detail, new RegExp(`${period} is closed`));
        assert.equal(Number(invoice.total), 0, `${period}: refused, so not priced`);
        const plans = (await h.call('GET', `/v1/tenants/${tenant}`)).json as { plans: unknown[] };
        assert.deepEqual(plans.plans, [], 'nothing was written');
      }
    }
    assert.equal(outcomes.assignedFirst + outcomes.closedFirst, ROUNDS);
    // Both orders happened: the race was run, not one side always first.
    assert.ok(outcomes.assignedFirst > 0 && outcomes.closedFirst > 0, JSON.stringify(outcomes));
    t.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
  });

  test('an assignment committed between the pricing and the finalising is priced again', async () => {
    await h.tenant('race-held');
    const period = '2021-06';
    const runner = h.db.createQueryRunner();
    await runner.connect();
    try {
      // Hold the tenant's row as an assignment would, so the close prices the draft and then
      // waits for the row; commit an assignment meanwhile.
      await runner.startTransaction();
      await runner.query(`SELECT id FROM tenant WHERE id = 'race-held' FOR NO KEY UPDATE`);
      const close = h.call('POST', `/v1/periods/${period}/close`);
      await waitForLockWaiter();
      await runner.query(
        `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
         VALUES ('race-held', '${period}-01T00:00:00Z', 'race', 1)`,
      );
      await runner.commitTransaction();
      const closed = await close;
      assert.equal(closed.status, 200, closed.text);
    } finally {
      await runner.release();
    }
    const invoice = (await h.call('GET', `/v1/tenants/race-held/invoices/${period}`)).json as {
      status: string;
      total: string;
    };
    assert.equal(invoice.status, 'final');
    assert.equal(invoice.total, '10.00', 'the assignment that committed first is billed');
    const metrics = await h.call('GET', '/metrics', { key: null });
    const repriced = /^billing_api_period_close_repriced_total(?:\{[^}]*\})? (\d+)/m.exec(
      metrics.text,
    );
    assert.ok(Number(repriced?.[1]) >= 1, `repriced: ${repriced?.[0] ?? 'no such metric'}`);
  });
});

/** Until some session of this schema's database waits for a row lock (the close). */
async function waitForLockWaiter(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await h.db.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%' AND query LIKE '%ANY%'`,
    );
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the close never waited for the tenant row');
}
