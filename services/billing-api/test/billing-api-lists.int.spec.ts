import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertProblem, type PageJson, startWithResources, walkerFor } from './resources-harness';

/**
 * The API's list resources (issue 15, items 2 and 4), over HTTP on a real billing-api and
 * PostgreSQL: tenants, a tenant's invoices, price plans and their versions, and API keys, with
 * signed cursors and filters.
 */
const h = new BillingHarness();
const walk = walkerFor(h);
let acmeKey = '';
let globexKey = '';

before(async () => {
  ({ acmeKey, globexKey } = await startWithResources(h));
});
after(() => h.stop());

describe('GET /v1/tenants', () => {
  test('pages through every tenant once, in id order, at any page size', async () => {
    const all = ['acme', 'acme-labs', 'globex', 'initech', 'omega'];
    for (const limit of [1, 2, 3, 5, 200]) {
      const { items, pages } = await walk<{ id: string }>(`/v1/tenants?limit=${limit}`);
      assert.deepEqual(
        items.map((t) => t.id),
        all,
        `limit ${limit}`,
      );
      assert.ok(
        pages.every((n) => n <= limit),
        `limit ${limit}: ${pages.join(',')}`,
      );
    }
    const r = await h.call('GET', '/v1/tenants');
    const page = r.json as PageJson<Record<string, unknown>>;
    assert.equal(page.nextCursor, null);
    assert.deepEqual(Object.keys(page.data[4] ?? {}).sort(), [
      'createdAt',
      'currency',
      'id',
      'name',
      'timeZone',
    ]);
    assert.equal(page.data[4]?.name, 'Ωμέγα 株式会社');
  });

  test('namePrefix filters by the start of the name (case kept, any script)', async () => {
    const ids = async (prefix: string): Promise<string[]> =>
      (
        await walk<{ id: string }>(`/v1/tenants?limit=1&namePrefix=${encodeURIComponent(prefix)}`)
      ).items.map((t) => t.id);
    assert.deepEqual(await ids('Acme'), ['acme', 'acme-labs']);
    assert.deepEqual(await ids('Acme '), ['acme-labs']);
    assert.deepEqual(await ids('acme'), []);
    assert.deepEqual(await ids('Ωμ'), ['omega']);
    assert.deepEqual(await ids('%_'), []); // no LIKE wildcards
  });

  test('a tenant key lists only its own tenant', async () => {
    const { items } = await walk<{ id: string }>('/v1/tenants?limit=1', acmeKey);
    assert.deepEqual(
      items.map((t) => t.id),
      ['acme'],
    );
    const none = await h.call('GET', '/v1/tenants?namePrefix=Globex', { key: acmeKey });
    assert.deepEqual((none.json as PageJson<unknown>).data, []);
    assertProblem(await h.call('GET', '/v1/tenants', { key: null }), 401, 'UNAUTHENTICATED');
  });

  test('a tampered cursor, or one of another list or filter, is a 400 naming cursor', async () => {
    const first = (await h.call('GET', '/v1/tenants?limit=2')).json as PageJson<unknown>;
    const cursor = first.nextCursor ?? '';
    assert.notEqual(cursor, '');
    const [payload, mac] = cursor.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ s: 'tenants\n\n', v: ['globex'] })).toString(
      'base64url',
    );
    const flip = (s: string): string => (s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`);
    for (const bad of [
      `${flip(payload)}.${mac}`,
      `${payload}.${flip(mac)}`,
      `${forged}.${mac}`,
      payload,
      `${cursor}x`,
      '',
      '%00',
      'Ωμέγα',
      'x'.repeat(3000),
    ]) {
      assertProblem(
        await h.call('GET', `/v1/tenants?limit=2&cursor=${encodeURIComponent(bad)}`),
        400,
        'VALIDATION_FAILED',
        'cursor',
      );
    }
    // Bound to the filter and to the list.
    assertProblem(
      await h.call('GET', `/v1/tenants?limit=2&namePrefix=A&cursor=${cursor}`),
      400,
      'VALIDATION_FAILED',
      'cursor',
    );
    assertProblem(
      await h.call('GET', `/v1/price-plans?cursor=${cursor}`),
      400,
      'VALIDATION_FAILED',
      'cursor',
    );
    const ok = await h.call('GET', `/v1/tenants?limit=2&cursor=${cursor}`);
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('GET /v1/tenants/{id}/invoices', () => {
  interface Summary {
    period: string;
    status: string;
    number: string | null;
    total: string | null;
    contentHash: string | null;
  }

  test('final months as stored, open months as drafts, oldest first, paged', async () => {
    const { items } = await walk<Summary>('/v1/tenants/acme/invoices?limit=2&to=2025-06');
    assert.deepEqual(
      items.map((i) => `${i.period} ${i.status}`),
      ['2025-02 final', '2025-03 final'],
      'registered now: the earliest month is the first final one',
    );
    const feb = items[0];
    assert.match(feb?.number ?? '', /^INV-2025-02-/);
    assert.equal(feb?.total, '0.50'); // 10 vCPU-hours × 0.05 (std v5)
    assert.match(feb?.contentHash ?? '', /^[0-9a-f]{64}$/);
    const full = await h.call('GET', '/v1/tenants/acme/invoices/2025-02');
    assert.equal((full.json as { total: string }).total, feb?.total);
  });

  test('drafts run to the current month of the tenant zone; status and range filter', async () => {
    const now = new Date();
    const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    const { items } = await walk<Summary>('/v1/tenants/acme/invoices?limit=7');
    assert.equal(items[items.length - 1]?.period, current);
    assert.equal(items[items.length - 1]?.status, 'draft');
    const periods = items.map((i) => i.period);
    assert.deepEqual(periods, [...new Set(periods)].sort(), 'each month once, in order');
    const drafts = await walk<Summary>('/v1/tenants/acme/invoices?status=draft&to=2025-05');
    assert.deepEqual(
      drafts.items.map((i) => [i.period, i.total, i.number]),
      [
        ['2025-04', null, null],
        ['2025-05', null, null],
      ],
    );
    const finals = await walk<Summary>('/v1/tenants/acme/invoices?status=final');
    assert.deepEqual(
      finals.items.map((i) => i.period),
      ['2025-02', '2025-03'],
    );
    const one = await walk<Summary>('/v1/tenants/acme/invoices?from=2025-03&to=2025-03');
    assert.deepEqual(
      one.items.map((i) => i.period),
      ['2025-03'],
    );
    const future = await walk<Summary>('/v1/tenants/acme/invoices?from=2199-01');
    assert.deepEqual(future.items, []);
    assertProblem(
      await h.call('GET', '/v1/tenants/acme/invoices?from=2025-05&to=2025-04'),
      422,
      'RANGE_INVALID',
      'to',
    );
  });

  test('a tenant key sees its own invoices; another tenant’s are a 404', async () => {
    const own = await h.call('GET', '/v1/tenants/acme/invoices?status=final', { key: acmeKey });
    assert.equal(own.status, 200, own.text);
    assertProblem(
      await h.call('GET', '/v1/tenants/acme/invoices', { key: globexKey }),
      404,
      'TENANT_NOT_FOUND',
    );
    assertProblem(await h.call('GET', '/v1/tenants/nobody/invoices'), 404, 'TENANT_NOT_FOUND');
  });
});

describe('GET /v1/price-plans and /v1/price-plans/{id}/versions', () => {
  test('the latest version of each plan by id; currency filters', async () => {
    const { items } = await walk<{ id: string; version: number; currency: string }>(
      '/v1/price-plans?limit=1',
    );
    assert.deepEqual(
      items.map((p) => `${p.id} v${p.version} ${p.currency}`),
      ['basic v1 USD', 'std v5 EUR', 'zero v1 EUR'],
    );
    const usd = await walk<{ id: string }>('/v1/price-plans?currency=USD');
    assert.deepEqual(
      usd.items.map((p) => p.id),
      ['basic'],
    );
    assertProblem(await h.call('GET', '/v1/price-plans', { key: acmeKey }), 403, 'FORBIDDEN');
  });

  test('versions oldest first, paged; an unknown plan is a 404', async () => {
    const { items, pages } = await walk<{
      version: number;
      cpu: { tiers: { unitPrice: string }[] };
    }>('/v1/price-plans/std/versions?limit=2');
    assert.deepEqual(
      items.map((p) => p.version),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(pages, [2, 2, 1]);
    assert.equal(items[4]?.cpu.tiers[0]?.unitPrice, '0.05');
    assertProblem(await h.call('GET', '/v1/price-plans/nothing/versions'), 404, 'PLAN_NOT_FOUND');
  });
});

describe('GET /v1/api-keys', () => {
  interface Key {
    id: string;
    tenantId: string;
    status: string;
    lastUsedAt: string | null;
    revokedAt: string | null;
  }

  test('the admin sees every key (no secret), filtered by tenant and status', async () => {
    const { items } = await walk<Key & Record<string, unknown>>('/v1/api-keys?limit=1');
    assert.deepEqual(items.map((k) => k.tenantId).sort(), ['acme', 'globex', 'initech']);
    assert.deepEqual(
      items.map((k) => k.id),
      items.map((k) => k.id).sort(),
    );
    for (const k of items) {
      assert.ok(!('key' in k) && !('secretSha256' in k), JSON.stringify(k));
    }
    const initech = await walk<Key>('/v1/api-keys?tenantId=initech');
    assert.equal(initech.items.length, 1);
    assert.equal(initech.items[0]?.lastUsedAt, null, 'never used');
  });

  test('lastUsedAt is recorded on use, at most once a minute', async () => {
    const fresh = await h.key('acme-labs');
    const unused = await walk<Key>('/v1/api-keys?tenantId=acme-labs');
    assert.deepEqual(
      unused.items.map((k) => [k.id, k.lastUsedAt]),
      [[fresh.id, null]],
    );
    const before = Date.now();
    assert.equal((await h.call('GET', '/v1/tenants/acme-labs', { key: fresh.key })).status, 200);
    const { items } = await walk<Key>('/v1/api-keys', fresh.key);
    assert.deepEqual(
      items.map((k) => k.id),
      [fresh.id],
      'a tenant key sees its own keys only',
    );
    const first = Date.parse(items[0]?.lastUsedAt ?? '');
    assert.ok(first >= before - 1000 && first <= Date.now() + 1000, items[0]?.lastUsedAt ?? '');
    // Used again within the minute: not written again (the first instant stays).
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.call('GET', '/v1/tenants/acme-labs', { key: fresh.key });
    const again = await walk<Key>('/v1/api-keys', fresh.key);
    assert.equal(Date.parse(again.items[0]?.lastUsedAt ?? ''), first);
    // Another tenant's filter shows nothing to a tenant key.
    const other = await h.call('GET', '/v1/api-keys?tenantId=globex', { key: fresh.key });
    assert.deepEqual((other.json as PageJson<unknown>).data, []);
  });

  test('revoked keys are listed as revoked', async () => {
    const spare = await h.key('initech');
    assert.equal((await h.call('DELETE', `/v1/tenants/initech/api-keys/${spare.id}`)).status, 204);
    const revoked = await walk<Key>('/v1/api-keys?status=revoked');
    assert.deepEqual(
      revoked.items.map((k) => [k.id, k.status, typeof k.revokedAt]),
      [[spare.id, 'revoked', 'string']],
    );
    const active = await walk<Key>('/v1/api-keys?status=active&tenantId=initech');
    assert.ok(active.items.every((k) => k.status === 'active' && k.id !== spare.id));
  });
});
