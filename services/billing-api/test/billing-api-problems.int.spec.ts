import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { assertProblem, startWithResources } from './resources-harness';

/**
 * Bad input and the answers it gets (issue 15, items 2 and 4), over HTTP on a real billing-api
 * and PostgreSQL: list parameters and scalars in every wrong shape are a 400 naming the field,
 * every error is an RFC 9457 problem, and Accept negotiation on the invoice routes.
 */
const h = new BillingHarness();
let acmeKey = '';

before(async () => {
  ({ acmeKey } = await startWithResources(h));
});
after(() => h.stop());

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
