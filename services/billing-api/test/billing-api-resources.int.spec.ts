import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';

/**
 * The API resources clients expect (issue 15, items 2 and 4), over HTTP on a real billing-api and
 * PostgreSQL: list endpoints with signed cursors and filters, RFC 9457 problems, Idempotency-Key
 * on POST, Accept negotiation, and a plan assignment racing the close of its month.
 */
const h = new BillingHarness();
let acmeKey = '';
let globexKey = '';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  field?: string;
}

interface PageJson<T> {
  data: T[];
  nextCursor: string | null;
}

function assertProblem(r: ApiAnswer, status: number, code: string, field?: string): Problem {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const p = r.json as Problem;
  assert.equal(p.status, status, r.text);
  assert.equal(p.code, code, r.text);
  assert.equal(
    p.type,
    `tag:metering.billing-api,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`,
  );
  assert.ok(typeof p.title === 'string' && p.title.length > 0, r.text);
  assert.ok(typeof p.detail === 'string' && p.detail.length > 0, r.text);
  assert.ok(p.instance.startsWith('/'), r.text);
  if (field !== undefined) {
    assert.equal(p.field, field, r.text);
    assert.ok(p.detail.includes(field), `the detail names ${field}: ${r.text}`);
  }
  return p;
}

/** Every item of a list, following nextCursor, with the page sizes seen. */
async function walk<T>(path: string, key?: string): Promise<{ items: T[]; pages: number[] }> {
  const items: T[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const url: string =
      cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`;
    const r = await h.call('GET', url, key === undefined ? {} : { key });
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    const page = r.json as PageJson<T>;
    items.push(...page.data);
    pages.push(page.data.length);
    cursor = page.nextCursor;
    if (cursor === null) return { items, pages };
  }
  throw new Error(`${path}: more than 100 pages`);
}

before(async () => {
  await h.start();
  for (const [id, name] of [
    ['acme', 'Acme'],
    ['acme-labs', 'Acme Labs'],
    ['globex', 'Globex'],
    ['initech', 'Initech'],
    ['omega', 'Ωμέγα 株式会社'],
  ] as const) {
    await h.tenant(id, 'EUR', 'UTC', name);
  }
  const acme = await h.key('acme');
  acmeKey = acme.key;
  globexKey = (await h.key('globex')).key;
  await h.key('initech');
  for (let i = 0; i < 5; i++) {
    await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: `0.0${i + 1}` }] } });
  }
  await h.plan({ id: 'basic', currency: 'USD', cpu: { tiers: [{ upTo: null, unitPrice: '1' }] } });
  await h.plan({ id: 'zero', cpu: { tiers: [{ upTo: null, unitPrice: '0' }] } });
  await h.assign('acme', 'std', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'web-1', '2025-02-03T10:00:00Z', '10', '0');
  // 2025-02 and 2025-03 final for every tenant.
  for (const period of ['2025-02', '2025-03']) {
    const r = await h.call('POST', `/v1/periods/${period}/close`);
    assert.equal(r.status, 200, r.text);
  }
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

describe('list parameters: every shape of bad input is a 400 naming the field', () => {
  const lists = [
    '/v1/tenants',
    '/v1/tenants/acme/invoices',
    '/v1/price-plans',
    '/v1/price-plans/std/versions',
    '/v1/api-keys',
  ];
  const bad: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=1e2', 'limit'],
    ['limit=NaN', 'limit'],
    ['limit=Infinity', 'limit'],
    ['limit=%EF%BC%91', 'limit'], // fullwidth 1
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['limit=01', 'limit'],
    [`limit=${'9'.repeat(5000)}`, 'limit'],
    ['limit=%00', 'limit'],
    ['cursor=a&cursor=b', 'cursor'],
    ['cursor=%01', 'cursor'],
  ];
  for (const list of lists) {
    for (const [query, field] of bad) {
      test(`GET ${list}?${query.slice(0, 40)} → 400 ${field}`, async () => {
        assertProblem(await h.call('GET', `${list}?${query}`), 400, 'VALIDATION_FAILED', field);
      });
    }
  }
  const filters: [string, string][] = [
    ['/v1/tenants?namePrefix=', 'namePrefix'],
    ['/v1/tenants?namePrefix=a%00', 'namePrefix'],
    [`/v1/tenants?namePrefix=${'x'.repeat(201)}`, 'namePrefix'],
    ['/v1/tenants?namePrefix=a&namePrefix=b', 'namePrefix'],
    ['/v1/tenants/acme/invoices?from=0001-01', 'from'],
    ['/v1/tenants/acme/invoices?to=9999-12', 'to'],
    ['/v1/tenants/acme/invoices?from=2026-02-31', 'from'],
    ['/v1/tenants/acme/invoices?to=2026-13', 'to'],
    ['/v1/tenants/acme/invoices?from=2025-1', 'from'],
    ['/v1/tenants/acme/invoices?status=paid', 'status'],
    ['/v1/tenants/acme/invoices?status=final&status=draft', 'status'],
    ['/v1/price-plans?currency=XXX', 'currency'],
    ['/v1/price-plans?currency=eur%00', 'currency'],
    ['/v1/api-keys?status=all', 'status'],
    ['/v1/api-keys?tenantId=a%20b', 'tenantId'],
    ['/v1/api-keys?tenantId=-1', 'tenantId'],
    ['/v1/tenants/acme/invoices/2026-02-31', 'period'],
    ['/v1/tenants/acme/invoices/2026-13', 'period'],
    ['/v1/tenants/acme/invoices/0001-01', 'period'],
    ['/v1/tenants/acme/invoices/9999-12', 'period'],
  ];
  for (const [url, field] of filters) {
    test(`GET ${url.slice(0, 60)} → 400 ${field}`, async () => {
      assertProblem(await h.call('GET', url), 400, 'VALIDATION_FAILED', field);
    });
  }
  for (const period of ['0001-01', '9999-12', '2026-02-31', '2026-13', '2026-00', '%00']) {
    test(`POST /v1/periods/${period}/close → 400 period`, async () => {
      assertProblem(
        await h.call('POST', `/v1/periods/${period}/close`),
        400,
        'VALIDATION_FAILED',
        'period',
      );
    });
  }
});

describe('scalars in every wrong shape on the existing routes: 400 naming the field', () => {
  const cases: [string, string, { body?: unknown; rawBody?: string }, string][] = [
    ['POST', '/v1/tenants', { body: { id: ['a'], name: 'A', currency: 'EUR' } }, 'id'],
    ['POST', '/v1/tenants', { body: { id: 'a', name: { x: 1 }, currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'a', name: 'A', currency: 978 } }, 'currency'],
    ['POST', '/v1/tenants', { body: { id: 'a', name: 'A\u0000', currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'a', name: 'n'.repeat(201), currency: 'EUR' } }, 'name'],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { rawBody: '{"planId":"std","planVersion":1e999,"effectiveFrom":"2026-11-01T00:00:00Z"}' },
      'planVersion',
    ],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', planVersion: -1, effectiveFrom: '2026-11-01T00:00:00Z' } },
      'planVersion',
    ],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', planVersion: 1.5, effectiveFrom: '2026-11-01T00:00:00Z' } },
      'planVersion',
    ],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', effectiveFrom: ['2026-11-01T00:00:00Z'] } },
      'effectiveFrom',
    ],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', effectiveFrom: '2026-02-31T00:00:00Z' } },
      'effectiveFrom',
    ],
    [
      'POST',
      '/v1/price-plans',
      { body: { id: 'p', currency: 'EUR', basis: 'usage', minimum: ['1'] } },
      'minimum',
    ],
    [
      'POST',
      '/v1/price-plans',
      { body: { id: 'p', currency: 'EUR', basis: 'usage', minimum: '-Infinity' } },
      'minimum',
    ],
    ['GET', '/v1/invoices/export?period=2025-11&period=2025-12', {}, 'period'],
    ['GET', '/v1/invoices/export?period=2025-11&format=csv&format=jsonl', {}, 'format'],
    [
      'GET',
      '/v1/tenants/acme/usage?from=2025-11-01T00:00:00Z&from=2025-11-02T00:00:00Z&to=2025-11-03T00:00:00Z',
      {},
      'from',
    ],
    ['GET', '/v1/tenants/acme/invoices/2025-02?format=csv&format=pdf', {}, 'format'],
    ['GET', '/v1/unbilled-usage?period=2025-11&limit=-5', {}, 'limit'],
  ];
  for (const [method, url, options, field] of cases) {
    test(`${method} ${url.slice(0, 70)} ${JSON.stringify(options).slice(0, 80)} → 400 ${field}`, async () => {
      const r = await h.call(method, url, options);
      const p = assertProblem(r, 400, 'VALIDATION_FAILED');
      const fields = [
        p.field,
        ...((r.json as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field),
      ];
      assert.ok(fields.includes(field), `${field} in ${r.text}`);
    });
  }
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

describe('errors are RFC 9457 problems', () => {
  test('every kind of error path answers application/problem+json with code and instance', async () => {
    assertProblem(await h.call('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
    assertProblem(await h.call('GET', '/v1/tenants', { key: 'wrong' }), 401, 'UNAUTHENTICATED');
    assertProblem(
      await h.call('POST', '/v1/price-plans', { key: acmeKey, body: {} }),
      403,
      'FORBIDDEN',
    );
    const bad = assertProblem(
      await h.call('POST', '/v1/tenants', { rawBody: '{"id": ' }),
      400,
      'VALIDATION_FAILED',
      'body',
    );
    assert.equal(bad.instance, '/v1/tenants');
    assertProblem(
      await h.call('POST', '/v1/tenants', { body: { id: 'acme', name: 'A', currency: 'EUR' } }),
      409,
      'TENANT_EXISTS',
    );
    const p = assertProblem(
      await h.call('GET', '/v1/tenants/acme/invoices/2025-02?format=xml&x=<b>'),
      400,
      'VALIDATION_FAILED',
      'format',
    );
    assert.equal(p.instance, '/v1/tenants/acme/invoices/2025-02', 'the path, not the query');
    const huge = await h.call('POST', '/v1/tenants', {
      rawBody: JSON.stringify({ id: 'x', name: 'n'.repeat(1024 * 1024), currency: 'EUR' }),
    });
    assertProblem(huge, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('Idempotency-Key on POST', () => {
  const plan = (price: string): Record<string, unknown> => ({
    id: 'idem',
    currency: 'EUR',
    basis: 'usage',
    cpu: { tiers: [{ upTo: null, unitPrice: price }] },
  });
  const versions = async (): Promise<number> =>
    Number(
      (
        await h.db.query<{ n: string }[]>(
          `SELECT count(*)::text AS n FROM price_plan WHERE id = 'idem'`,
        )
      )[0]?.n,
    );

  test('a retried POST /v1/price-plans replays the first answer byte for byte, one version', async () => {
    const headers = { 'idempotency-key': 'plan-idem-1' };
    const first = await h.call('POST', '/v1/price-plans', { body: plan('0.04'), headers });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    for (let i = 0; i < 3; i++) {
      const retry = await h.call('POST', '/v1/price-plans', { body: plan('0.04'), headers });
      assert.equal(retry.status, 201, retry.text);
      assert.ok(retry.buffer.equals(first.buffer), `${retry.text} != ${first.text}`);
      assert.equal(retry.headers.get('content-type'), first.headers.get('content-type'));
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    }
    assert.equal(await versions(), 1);
    // Without a key, a POST is a new version as before.
    const plain = await h.call('POST', '/v1/price-plans', { body: plan('0.04') });
    assert.equal((plain.json as { version: number }).version, 2);
    assert.equal(await versions(), 2);
  });

  test('the same key with another body, path or principal', async () => {
    const headers = { 'idempotency-key': 'plan-idem-2' };
    const first = await h.call('POST', '/v1/price-plans', { body: plan('0.07'), headers });
    assert.equal(first.status, 201, first.text);
    const other = await h.call('POST', '/v1/price-plans', { body: plan('0.08'), headers });
    assertProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key');
    // The same bytes reordered are another body (the key binds the bytes).
    const reordered = await h.call('POST', '/v1/price-plans', {
      rawBody: JSON.stringify({
        cpu: { tiers: [{ upTo: null, unitPrice: '0.07' }] },
        id: 'idem',
        currency: 'EUR',
        basis: 'usage',
      }),
      headers,
    });
    assertProblem(reordered, 422, 'IDEMPOTENCY_KEY_REUSED');
    const path = await h.call('POST', '/v1/tenants', {
      body: { id: 'idem-t', name: 'I', currency: 'EUR' },
      headers,
    });
    assertProblem(path, 422, 'IDEMPOTENCY_KEY_REUSED');
    const before = await versions();
    // Another principal has its own keys: a tenant's POST under the same key is its own.
    const tenant = await h.call('POST', '/v1/price-plans', {
      body: plan('0.07'),
      headers,
      key: acmeKey,
    });
    assertProblem(tenant, 403, 'FORBIDDEN');
    assert.equal(await versions(), before);
  });

  test('a failed first request stores nothing: the key serves the corrected retry', async () => {
    const headers = { 'idempotency-key': 'plan-idem-3' };
    const broken = await h.call('POST', '/v1/price-plans', {
      body: { ...plan('0.04'), basis: 'peak' },
      headers,
    });
    assertProblem(broken, 400, 'VALIDATION_FAILED', 'basis');
    const again = await h.call('POST', '/v1/price-plans', {
      body: { ...plan('0.04'), basis: 'peak' },
      headers,
    });
    assertProblem(again, 400, 'VALIDATION_FAILED', 'basis');
    const fixed = await h.call('POST', '/v1/price-plans', { body: plan('0.09'), headers });
    assert.equal(fixed.status, 201, fixed.text);
  });

  test('concurrent duplicates: one runs, the others wait-free 409 or replay; one version', async () => {
    const before = await versions();
    const headers = { 'idempotency-key': 'plan-idem-race' };
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        h.call('POST', '/v1/price-plans', { body: plan('0.11'), headers }),
      ),
    );
    const created = answers.filter((r) => r.status === 201);
    assert.ok(created.length >= 1, answers.map((r) => r.status).join(','));
    for (const r of answers) {
      if (r.status === 201) assert.ok(r.buffer.equals(created[0]?.buffer ?? Buffer.alloc(0)));
      else assertProblem(r, 409, 'IDEMPOTENCY_KEY_IN_USE');
    }
    assert.equal(await versions(), before + 1);
    const late = await h.call('POST', '/v1/price-plans', { body: plan('0.11'), headers });
    assert.ok(late.buffer.equals(created[0]?.buffer ?? Buffer.alloc(0)));
  });

  test('a key expires after 24 h: then the request runs afresh', async () => {
    const headers = { 'idempotency-key': 'plan-idem-old' };
    const first = await h.call('POST', '/v1/price-plans', { body: plan('0.12'), headers });
    assert.equal(first.status, 201);
    await h.db.query(
      `UPDATE idempotency_key SET created_at = now() - interval '24 hours 1 second' WHERE key = $1`,
      ['plan-idem-old'],
    );
    const fresh = await h.call('POST', '/v1/price-plans', { body: plan('0.12'), headers });
    assert.equal(fresh.status, 201);
    assert.equal(
      (fresh.json as { version: number }).version,
      (first.json as { version: number }).version + 1,
    );
    // And another body is welcome under the renewed key only after it expires again.
    assertProblem(
      await h.call('POST', '/v1/price-plans', { body: plan('0.13'), headers }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  test('replays cover every POST: tenants, API keys, period close', async () => {
    for (const [path, body] of [
      ['/v1/tenants', { id: 'idem-tenant', name: 'Idem', currency: 'EUR' }],
      ['/v1/tenants/idem-tenant/api-keys', undefined],
      ['/v1/periods/2025-02/close', undefined],
    ] as const) {
      const headers = { 'idempotency-key': `every-${path}` };
      const first = await h.call('POST', path, {
        headers,
        ...(body === undefined ? {} : { body }),
      });
      assert.ok(first.status === 200 || first.status === 201, `${path}: ${first.text}`);
      const retry = await h.call('POST', path, {
        headers,
        ...(body === undefined ? {} : { body }),
      });
      assert.equal(retry.status, first.status);
      assert.ok(retry.buffer.equals(first.buffer), path);
    }
    // The replayed API key answer did not issue a second key.
    const keys = await walk<unknown>('/v1/api-keys?tenantId=idem-tenant');
    assert.equal(keys.items.length, 1);
  });

  test('malformed keys are a 400 naming Idempotency-Key', async () => {
    for (const key of ['', 'x'.repeat(256), 'tab\there', 'é', 'ÿ\u0080']) {
      const r = await h.call('POST', '/v1/price-plans', {
        body: plan('0.04'),
        headers: { 'idempotency-key': key },
      });
      assertProblem(r, 400, 'VALIDATION_FAILED', 'Idempotency-Key');
    }
    const ok = await h.call('POST', '/v1/price-plans', {
      body: plan('0.04'),
      headers: { 'idempotency-key': 'x'.repeat(255) },
    });
    assert.equal(ok.status, 201, ok.text);
  });
});

describe('Accept negotiation on the invoice routes', () => {
  const get = (query: string, accept?: string): Promise<ApiAnswer> =>
    h.call('GET', `/v1/tenants/acme/invoices/2025-02${query}`, {
      headers: accept === undefined ? {} : { accept },
    });

  test('Accept picks JSON, CSV or PDF; ?format= wins when both are given', async () => {
    const cases: [string, string | undefined, string][] = [
      ['', undefined, 'application/json'],
      ['', '*/*', 'application/json'],
      ['', 'text/csv', 'text/csv'],
      ['', 'application/pdf', 'application/pdf'],
      ['', 'text/csv;q=0.5, application/pdf', 'application/pdf'],
      ['', 'application/json;q=0, text/*', 'text/csv'],
      ['?format=json', 'application/pdf', 'application/json'],
      ['?format=csv', 'application/pdf', 'text/csv'],
      ['?format=pdf', 'image/png', 'application/pdf'],
    ];
    for (const [query, accept, type] of cases) {
      const r = await get(query, accept);
      assert.equal(r.status, 200, `${query} ${accept}: ${r.text.slice(0, 200)}`);
      assert.ok(r.headers.get('content-type')?.startsWith(type), `${query} ${accept}`);
      assert.match(r.headers.get('vary') ?? '', /Accept/i);
    }
    const pdf = await get('', 'application/pdf');
    assert.equal(pdf.buffer.subarray(0, 5).toString(), '%PDF-');
  });

  test('nothing acceptable is a 406 problem; a malformed Accept a 400 naming Accept', async () => {
    assertProblem(await get('', 'image/png'), 406, 'NOT_ACCEPTABLE', 'Accept');
    assertProblem(
      await get('', 'application/json;q=0, text/csv;q=0, application/pdf;q=0'),
      406,
      'NOT_ACCEPTABLE',
    );
    assertProblem(
      await get('', `text/csv,${'a/b,'.repeat(2000)}`),
      400,
      'VALIDATION_FAILED',
      'Accept',
    );
    assertProblem(await get('', 'text/csv\u00ff'), 400, 'VALIDATION_FAILED', 'Accept');
  });

  test('the export: CSV by default, JSON Lines by Accept, ?format= first', async () => {
    const cases: [string, string | undefined, string][] = [
      ['', undefined, 'text/csv'],
      ['', 'application/x-ndjson', 'application/x-ndjson'],
      ['', 'application/jsonl', 'application/x-ndjson'],
      ['&format=csv', 'application/x-ndjson', 'text/csv'],
      ['&format=jsonl', 'text/csv', 'application/x-ndjson'],
    ];
    for (const [query, accept, type] of cases) {
      const r = await h.call('GET', `/v1/invoices/export?period=2025-02${query}`, {
        headers: accept === undefined ? {} : { accept },
      });
      assert.equal(r.status, 200, r.text.slice(0, 200));
      assert.ok(r.headers.get('content-type')?.startsWith(type), `${query} ${accept}`);
    }
    assertProblem(
      await h.call('GET', '/v1/invoices/export?period=2025-02', {
        headers: { accept: 'application/pdf' },
      }),
      406,
      'NOT_ACCEPTABLE',
    );
  });
});

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
