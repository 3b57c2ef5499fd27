import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { UnbilledUsageMonitor } from '../src/unbilled/unbilled-usage.monitor';
import { BillingHarness, type InvoiceJson } from './billing-harness';

/**
 * Usage rated for tenant ids that are not registered (a typo in a label, `Acme` for `acme`):
 * GET /v1/unbilled-usage lists it, the gauges count it, and registering the tenant bills it.
 * Ledger rows are written the way rating writes them (BillingHarness.bucket), into this run's
 * own schema, in the current month (the gauges' month).
 */
interface Item {
  tenantId: string;
  registrable: boolean;
  cpuCoreSeconds: string;
  memoryGibSeconds: string;
  resources: number;
  firstBucketStart: string;
  lastBucketStart: string;
}
interface Page {
  period: string;
  timeZone: string;
  periodStart: string;
  periodEnd: string;
  data: Item[];
  nextCursor: string | null;
}
interface ErrorBody {
  code: string;
  field?: string;
  message: string;
}

const h = new BillingHarness();
let acmeKey = '';
const now = new Date();
const period = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
const hour = (n: number): string => new Date(monthStart + n * 3_600_000).toISOString();
const previousPeriod = new Date(monthStart - 1).toISOString().slice(0, 7);

before(async () => {
  await h.start({ UNBILLED_REFRESH_MS: '300' });
  await h.tenant('acme');
  acmeKey = (await h.key('acme')).key;
  await h.plan({
    id: 'std',
    cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] },
    memory: { tiers: [{ upTo: null, unitPrice: '0.005' }] },
  });
  await h.assign('acme', 'std', `${period}-01T00:00:00Z`);
  // acme is registered; Acme (a label typo) and ghost are not.
  await h.bucket('acme', 'web-1', hour(1), '1', '1');
  await h.bucket('Acme', 'web-9', hour(1), '0.25', '0.5');
  await h.bucket('ghost', 'r1', hour(1), '2', '4');
  await h.bucket('ghost', 'r2', hour(2), '1', '0');
  await h.bucket('ghost', 'r1', hour(3), '0', '0');
  // Usage of another month is not this month's.
  await h.bucket('ghost', 'r1', new Date(monthStart - 3_600_000).toISOString(), '7', '7');
  await h.bucket('only-last-month', 'r1', new Date(monthStart - 3_600_000).toISOString(), '1');
});
after(() => h.stop());

async function page(query: string, key?: string): Promise<Page> {
  const r = await h.call('GET', `/v1/unbilled-usage?${query}`, { key });
  assert.equal(r.status, 200, r.text);
  return r.json as Page;
}

async function gauges(): Promise<Record<string, number>> {
  const text = (await h.call('GET', '/metrics', { key: null })).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^billing_api_(unbilled_[a-z_]+)\{[^}]*\} (\S+)$/gm)) {
    out[m[1] ?? ''] = Number(m[2]);
  }
  return out;
}

const ids = (p: Page): string[] => p.data.map((i) => i.tenantId);

describe('GET /v1/unbilled-usage', () => {
  test('lists the unregistered tenant ids of the month with their usage; case variants are distinct', async () => {
    const p = await page(`period=${period}`);
    assert.equal(p.period, period);
    assert.equal(p.timeZone, 'UTC');
    assert.equal(p.periodStart, new Date(monthStart).toISOString());
    assert.equal(p.nextCursor, null);
    assert.deepEqual(ids(p), ['Acme', 'ghost'], 'acme is registered; Acme is another id');
    assert.deepEqual(p.data, [
      {
        tenantId: 'Acme',
        registrable: true,
        cpuCoreSeconds: '900',
        memoryGibSeconds: '1800',
        resources: 1,
        firstBucketStart: hour(1),
        lastBucketStart: hour(1),
      },
      {
        tenantId: 'ghost',
        registrable: true,
        cpuCoreSeconds: '10800',
        memoryGibSeconds: '14400',
        resources: 2,
        firstBucketStart: hour(1),
        lastBucketStart: hour(3),
      },
    ]);
    const last = await page(`period=${previousPeriod}`);
    assert.deepEqual(ids(last), ['ghost', 'only-last-month']);
    assert.equal(last.data[0]?.cpuCoreSeconds, '25200');
  });

  test('the gauges count this month’s unbilled usage, without any tenant label', async () => {
    await h.app.get(UnbilledUsageMonitor).refresh();
    const g = await gauges();
    assert.equal(g.unbilled_tenants, 2);
    assert.equal(g.unbilled_cpu_core_seconds, 900 + 10_800);
    assert.equal(g.unbilled_memory_gib_seconds, 1_800 + 14_400);
    assert.ok((g.unbilled_refreshed_timestamp_seconds ?? 0) > Date.now() / 1000 - 60);
    const text = (await h.call('GET', '/metrics', { key: null })).text;
    const series = text.split('\n').filter((l) => l.startsWith('billing_api_unbilled_'));
    assert.ok(series.length >= 5, series.join('\n'));
    // The only label is the service's: no tenant id can add a series.
    for (const line of series) {
      assert.match(line, /^billing_api_unbilled_[a-z_]+\{service="billing-api"\} \S+$/);
    }
  });

  test('registering the tenant bills its usage and takes it off the list', async () => {
    await h.tenant('ghost');
    const draft = (await h.call('GET', `/v1/tenants/ghost/invoices/${period}`))
      .json as InvoiceJson & {
      usageTotals: { cpuUsageCoreSeconds: string; memoryUsageByteSeconds: string };
    };
    assert.equal(draft.status, 'draft');
    assert.equal(draft.usageTotals.cpuUsageCoreSeconds, '10800');
    assert.equal(draft.usageTotals.memoryUsageByteSeconds, String(14_400 * 2 ** 30));
    assert.deepEqual(ids(await page(`period=${period}`)), ['Acme']);

    // With a plan from the month's start, every hour of it is priced.
    await h.assign('ghost', 'std', `${period}-01T00:00:00Z`);
    const priced = (await h.call('GET', `/v1/tenants/ghost/invoices/${period}`))
      .json as InvoiceJson;
    const line = (meter: string) => priced.lines.find((l) => l.meter === meter);
    assert.equal(line('cpu')?.quantity, '3');
    assert.equal(line('cpu')?.amount, '0.12');
    assert.equal(line('memory')?.quantity, '4');
    assert.equal(line('memory')?.amount, '0.02');
    assert.equal(priced.total, '0.14');
    assert.deepEqual(
      priced.resources.map((r) => r.resourceId),
      ['r1', 'r2'],
    );

    // acme's invoice never carries Acme's usage.
    const acme = (await h.call('GET', `/v1/tenants/acme/invoices/${period}`)).json as InvoiceJson;
    assert.equal(acme.lines.find((l) => l.meter === 'cpu')?.quantity, '1');

    await h.app.get(UnbilledUsageMonitor).refresh();
    const g = await gauges();
    assert.equal(g.unbilled_tenants, 1);
    assert.equal(g.unbilled_cpu_core_seconds, 900);
  });

  test('the gauges follow the ledger on their own (UNBILLED_REFRESH_MS)', async () => {
    await h.bucket('late-typo', 'r1', hour(4), '1', '0');
    await waitFor(async () => (await gauges()).unbilled_tenants === 2, {
      timeoutMs: 10_000,
      description: 'the periodic refresh counts late-typo',
    });
  });

  test('a refresh that fails keeps the last figures and counts a failure', async () => {
    const before = await gauges();
    await h.db.query(`ALTER TABLE usage_bucket RENAME TO usage_bucket_away`);
    try {
      const failed = await waitFor(
        async () => {
          const g = await gauges();
          return (g.unbilled_refresh_failures_total ?? 0) >
            (before.unbilled_refresh_failures_total ?? 0)
            ? g
            : undefined;
        },
        { timeoutMs: 10_000, description: 'a failed refresh counted' },
      );
      assert.equal(failed.unbilled_tenants, before.unbilled_tenants);
      assert.equal(failed.unbilled_cpu_core_seconds, before.unbilled_cpu_core_seconds);
    } finally {
      await h.db.query(`ALTER TABLE usage_bucket_away RENAME TO usage_bucket`);
    }
    const stamp = (await gauges()).unbilled_refreshed_timestamp_seconds ?? 0;
    await waitFor(
      async () => ((await gauges()).unbilled_refreshed_timestamp_seconds ?? 0) > stamp,
      { timeoutMs: 10_000, description: 'refreshes resume' },
    );
  });

  test('tenant ids come back verbatim, as safe JSON, in byte order, through every page', async () => {
    const odd = [
      '<script>&"\'',
      '👻',
      'a\u0001b',
      'x\u2028y',
      'ü',
      'A',
      'a b',
      '\\',
      'Z'.repeat(300),
    ];
    for (const id of odd) await h.bucket(id, 'r1', hour(5), '0.5', '0');
    const all = await page(`period=${period}&limit=1000`);
    const expected = ['Acme', 'late-typo', ...odd].sort((x, y) =>
      Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')),
    );
    assert.deepEqual(ids(all), expected);
    assert.equal(all.nextCursor, null);
    const raw = (await h.call('GET', `/v1/unbilled-usage?period=${period}&limit=1000`)).text;
    assert.doesNotMatch(raw, /[<>&]/, 'markup characters are escaped');
    assert.match(raw, /\\u003cscript\\u003e\\u0026/);
    assert.equal(all.data.find((i) => i.tenantId === 'a\u0001b')?.registrable, false);

    // One id per page: the same ids, each once, and a null cursor after the last.
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const p: Page = await page(
        `period=${period}&limit=1${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      walked.push(...ids(p));
      cursor = p.nextCursor;
      if (cursor === null) break;
      assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    }
    assert.deepEqual(walked, expected);
  });

  test('pages scan past runs of registered tenants (more ids than one scan reads)', async () => {
    const run = new BillingHarness();
    await run.start({ UNBILLED_REFRESH_MS: '0' });
    try {
      // 1,200 registered tenants with usage, and three unregistered ids among them.
      await run.db.query(
        `INSERT INTO tenant (id, name, time_zone, currency)
         SELECT 't' || lpad(i::text, 5, '0'), 'T', 'UTC', 'EUR' FROM generate_series(1, 1200) i`,
      );
      for (const id of ['t00600x', 't01199x', 't99999']) await run.bucket(id, 'r1', hour(1), '1');
      await run.db.query(
        `INSERT INTO usage_bucket (tenant_id, resource_id, bucket_start, resource_kind,
           cpu_usage_core_seconds, observed_ms)
         SELECT 't' || lpad(i::text, 5, '0'), 'r1', $1, 'container', 3600, 3600000
         FROM generate_series(1, 1200) i`,
        [hour(1)],
      );
      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await run.call(
          'GET',
          `/v1/unbilled-usage?period=${period}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        assert.equal(r.status, 200, r.text);
        const p = r.json as Page;
        walked.push(...ids(p));
        cursor = p.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      assert.deepEqual(walked, ['t00600x', 't01199x', 't99999']);
      const summary = await run.app.get(UnbilledUsageMonitor).refresh();
      assert.equal(summary.tenants, 3);
      assert.equal(summary.cpuCoreSeconds.toString(), '10800');
    } finally {
      await run.stop();
    }
  });

  test('a tenant registered after its month was closed: draft until the month is closed again', async () => {
    await h.bucket('late-ghost', 'r1', '2025-10-10T10:00:00Z', '2', '0');
    const first = await h.call('POST', '/v1/periods/2025-10/close');
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(ids(await page('period=2025-10')), ['late-ghost']);

    await h.tenant('late-ghost');
    await h.assign('late-ghost', 'std', '2025-10-01T00:00:00Z');
    const draft = (await h.call('GET', '/v1/tenants/late-ghost/invoices/2025-10'))
      .json as InvoiceJson;
    assert.equal(draft.status, 'draft');
    assert.equal(draft.total, '0.08');
    assert.deepEqual(ids(await page('period=2025-10')), []);

    const again = await h.call('POST', '/v1/periods/2025-10/close');
    assert.equal(again.status, 200, again.text);
    const result = again.json as { finalized: number; alreadyFinal: number };
    assert.equal(result.finalized, 1, again.text);
    const final = (await h.call('GET', '/v1/tenants/late-ghost/invoices/2025-10'))
      .json as InvoiceJson;
    assert.equal(final.status, 'final');
    assert.equal(final.total, '0.08');
    assert.match(final.number ?? '', /^INV-2025-10-\d{6}$/);
  });

  test('input errors are 400 naming the field; a tenant key is refused', async () => {
    const bad: [string, string][] = [
      ['', 'period'],
      ['period=2026-13', 'period'],
      ['period=0001-01', 'period'],
      ['period=9999-12', 'period'],
      ['period=2026-1', 'period'],
      ['period=2026-11&period=2026-12', 'period'],
      [`period=${period}&limit=0`, 'limit'],
      [`period=${period}&limit=1001`, 'limit'],
      [`period=${period}&limit=1.5`, 'limit'],
      [`period=${period}&limit=0x10`, 'limit'],
      [`period=${period}&limit=`, 'limit'],
      [`period=${period}&cursor=not+a+cursor`, 'cursor'],
      [`period=${period}&cursor=${Buffer.from([0xff]).toString('base64url')}`, 'cursor'],
      [`period=${period}&cursor=${'A'.repeat(3000)}`, 'cursor'],
      [`period=${period}&cursor=%00`, 'cursor'],
      [`period=%00`, 'period'],
    ];
    for (const [query, field] of bad) {
      const r = await h.call('GET', `/v1/unbilled-usage?${query}`);
      const body = r.json as ErrorBody;
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.equal(body.field, field, `${query}: ${r.text}`);
    }
    const tenant = await h.call('GET', `/v1/unbilled-usage?period=${period}`, { key: acmeKey });
    assert.equal(tenant.status, 403);
    assert.equal((tenant.json as ErrorBody).code, 'FORBIDDEN');
    assert.doesNotMatch(tenant.text, /ghost|Acme/);
    const none = await h.call('GET', `/v1/unbilled-usage?period=${period}`, { key: null });
    assert.equal(none.status, 401);
  });

  test('/docs-json documents the route, its answer and its errors', async () => {
    const doc = (await h.call('GET', '/docs-json', { key: null })).json as {
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<string, unknown>;
            parameters: { name: string; in: string; required?: boolean }[];
            security?: unknown[];
          }
        >
      >;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const op = doc.paths['/v1/unbilled-usage']?.get;
    assert.ok(op, 'GET /v1/unbilled-usage documented');
    for (const status of ['200', '400', '401', '403']) assert.ok(status in op.responses, status);
    assert.ok((op.security ?? []).length > 0);
    const params = Object.fromEntries(op.parameters.map((p) => [p.name, p]));
    assert.equal(params.period?.required, true);
    assert.equal(params.limit?.required, false);
    assert.equal(params.cursor?.required, false);
    const item = doc.components.schemas.UnbilledUsageDto?.properties ?? {};
    for (const name of [
      'tenantId',
      'cpuCoreSeconds',
      'memoryGibSeconds',
      'resources',
      'firstBucketStart',
      'lastBucketStart',
    ]) {
      assert.ok(name in item, name);
    }
    assert.ok('nextCursor' in (doc.components.schemas.UnbilledUsagePageDto?.properties ?? {}));
  });
});
