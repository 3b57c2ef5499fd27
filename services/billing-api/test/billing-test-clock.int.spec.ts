import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { localInfra } from '@metering/testing';
import { BillingHarness, type InvoiceJson } from './billing-harness';

// TEST_CLOCK_START (a Stripe-style test clock): the month that is running by the wall clock can
// be closed through the real close path, by the server and by the CLI; without it, it cannot.
const run = promisify(execFile);
const CLI = join(__dirname, '../src/cli/billing.cli.js');

const now = new Date();
const period = now.toISOString().slice(0, 7);
const nextPeriod = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
  .toISOString()
  .slice(0, 7);
/** The 10th of the month after this one, 00:00 UTC: this month's end plus the grace is past. */
const clockStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 10));

const wallClock = new BillingHarness();
const testClock = new BillingHarness();

before(async () => {
  await wallClock.start({ CLOSE_GRACE_MS: '172800000' });
  await testClock.start({
    CLOSE_GRACE_MS: '172800000',
    TEST_CLOCK_START: clockStart.toISOString(),
  });
  for (const h of [wallClock, testClock]) {
    await h.plan({ id: 'flat', cpu: { tiers: [{ upTo: null, unitPrice: '2.00' }] } });
    await h.tenant('acme');
    await h.assign('acme', 'flat', '2020-01-01T00:00:00Z');
    await h.bucket('acme', 'c1', `${period}-01T00:00:00Z`, '1.5');
  }
});

after(async () => {
  await wallClock.stop();
  await testClock.stop();
});

test('without a test clock, the running month cannot be closed and the next has not started', async () => {
  const closed = await wallClock.call('POST', `/v1/periods/${period}/close`);
  assert.equal(closed.status, 409, closed.text);
  assert.equal((closed.json as { code: string }).code, 'PERIOD_NOT_CLOSABLE');
  const next = await wallClock.call('GET', `/v1/tenants/acme/invoices/${nextPeriod}`);
  assert.equal(next.status, 422, next.text);
});

test('with TEST_CLOCK_START, the running month closes: final, numbered, hashed, issued at the test time', async () => {
  const closed = await testClock.call('POST', `/v1/periods/${period}/close`);
  assert.equal(closed.status, 200, closed.text);
  assert.equal((closed.json as { finalized: number }).finalized, 1);
  const r = await testClock.call('GET', `/v1/tenants/acme/invoices/${period}`);
  const invoice = r.json as InvoiceJson & { issuedAt: string };
  assert.equal(invoice.status, 'final');
  assert.equal(invoice.number, `INV-${period}-000001`);
  assert.match(invoice.contentHash ?? '', /^[0-9a-f]{64}$/);
  assert.equal(invoice.total, '3.00');
  const issued = Date.parse(invoice.issuedAt);
  assert.ok(
    issued >= clockStart.getTime() && issued < clockStart.getTime() + 600_000,
    `issued at ${invoice.issuedAt}, test clock started at ${clockStart.toISOString()}`,
  );
  // By the test clock the next month has started: its draft exists.
  const next = await testClock.call('GET', `/v1/tenants/acme/invoices/${nextPeriod}`);
  assert.equal(next.status, 200, next.text);
  assert.equal((next.json as InvoiceJson).status, 'draft');
});

test('the CLI honours TEST_CLOCK_START and says so; NODE_ENV=production refuses it', async () => {
  const env = {
    ...process.env,
    DATABASE_URL: localInfra.postgresUrl,
    MIGRATE_ON_START: 'false',
    CLOSE_GRACE_MS: '172800000',
  };
  await assert.rejects(
    run(process.execPath, [CLI, 'close', period], {
      env: { ...env, DATABASE_SCHEMA: wallClock.schema },
    }),
    /PERIOD_NOT_CLOSABLE/,
  );
  const closed = await run(process.execPath, [CLI, 'close', period, '--json'], {
    env: { ...env, DATABASE_SCHEMA: wallClock.schema, TEST_CLOCK_START: clockStart.toISOString() },
  });
  assert.match(closed.stderr, /TEST CLOCK: time starts at/);
  assert.equal((JSON.parse(closed.stdout) as { finalized: number }).finalized, 1);
  await assert.rejects(
    run(process.execPath, [CLI, 'close', period], {
      env: {
        ...env,
        DATABASE_SCHEMA: wallClock.schema,
        TEST_CLOCK_START: clockStart.toISOString(),
        NODE_ENV: 'production',
      },
    }),
    /TEST_CLOCK_START: a test clock is refused when NODE_ENV=production/,
  );
});
