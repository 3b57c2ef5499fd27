import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertError, startWithRoutesSeed } from './routes-harness';

/**
 * billing-api's usage, invoice and period routes, over HTTP on a real server and PostgreSQL: usage
 * by hour and by the tenant's local day, invoice and period input errors, the OpenAPI document,
 * and rate limiting.
 */
const h = new BillingHarness();
let acmeKey = '';

before(async () => {
  ({ acmeKey } = await startWithRoutesSeed(h));
});
after(() => h.stop());

describe('usage', () => {
  const base = '/v1/tenants/acme/usage?from=2025-11-03T00:00:00Z&to=2025-11-05T00:00:00Z';

  test('hourly, with decimal strings and exact GiB-seconds', async () => {
    const r = await h.call('GET', base, { key: acmeKey });
    assert.equal(r.status, 200, r.text);
    // Completeness: these fixture buckets declare no sample interval, so it is judged by time
    // (all observed, no gap); the counts are zero.
    const complete = {
      completeness: '1.0000',
      samplesExpected: '0',
      samplesObserved: '0',
      samplesThinned: '0',
      gapMs: '0',
      inferredGapMs: '0',
    };
    assert.deepEqual((r.json as { items: unknown[] }).items, [
      {
        start: '2025-11-03T10:00:00.000Z',
        cpuCoreSeconds: '7200',
        memoryGibSeconds: '10800',
        ...complete,
      },
      {
        start: '2025-11-03T23:00:00.000Z',
        cpuCoreSeconds: '3600',
        memoryGibSeconds: '0',
        ...complete,
      },
    ]);
    assert.deepEqual((r.json as { totals: unknown }).totals, {
      cpuCoreSeconds: '10800',
      memoryGibSeconds: '10800',
      ...complete,
    });
  });

  test('daily by the tenant’s local days (Europe/Paris), and by resource', async () => {
    const day = await h.call('GET', `${base}&granularity=day`, { key: acmeKey });
    assert.deepEqual(
      (day.json as { items: { start: string; cpuCoreSeconds: string }[] }).items.map((i) => [
        i.start,
        i.cpuCoreSeconds,
      ]),
      [
        ['2025-11-02T23:00:00.000Z', '7200'],
        ['2025-11-03T23:00:00.000Z', '3600'],
      ],
    );
    const byResource = await h.call('GET', `${base}&granularity=day&by=resource`);
    assert.deepEqual(
      (byResource.json as { items: { resourceId: string; cpuCoreSeconds: string }[] }).items.map(
        (i) => [i.resourceId, i.cpuCoreSeconds],
      ),
      [
        ['web-1', '5400'],
        ['web-2', '1800'],
        ['web-1', '3600'],
      ],
    );
  });

  const bad: [string, number, string, string][] = [
    ['?to=2025-11-05T00:00:00Z', 400, 'VALIDATION_FAILED', 'from'],
    ['?from=2025-11-03T00:00:00Z', 400, 'VALIDATION_FAILED', 'to'],
    ['?from=yesterday&to=2025-11-05T00:00:00Z', 400, 'VALIDATION_FAILED', 'from'],
    [
      '?from=2025-11-03T00:00:00Z&to=2025-11-05T00:00:00Z&granularity=week',
      400,
      'VALIDATION_FAILED',
      'granularity',
    ],
    ['?from=2025-11-03T00:00:00Z&to=2025-11-05T00:00:00Z&by=host', 400, 'VALIDATION_FAILED', 'by'],
    [
      '?from=2025-11-03T00:00:00Z&to=2025-11-05T00:00:00Z&basis=peak',
      400,
      'VALIDATION_FAILED',
      'basis',
    ],
    ['?from[a]=1&to=2025-11-05T00:00:00Z', 400, 'VALIDATION_FAILED', 'from'],
    ['?from=2025-11-05T00:00:00Z&to=2025-11-03T00:00:00Z', 422, 'RANGE_INVALID', 'to'],
    [
      '?from=2020-01-01T00:00:00Z&to=2025-11-03T00:00:00Z&granularity=day',
      422,
      'RANGE_INVALID',
      'to',
    ],
  ];
  for (const [query, status, code, field] of bad) {
    test(`GET usage${query} → ${status} naming ${field}`, async () => {
      assertError(
        await h.call('GET', `/v1/tenants/acme/usage${query}`, { key: acmeKey }),
        status,
        code,
        field,
      );
    });
  }
});

describe('invoices and periods: input errors', () => {
  for (const period of ['2025-13', '2025-1', '202511', 'abcd', '2025-11-01', '0000-01']) {
    test(`invoice period ${period} → 400`, async () => {
      assertError(
        await h.call('GET', `/v1/tenants/acme/invoices/${period}`),
        400,
        'VALIDATION_FAILED',
        'period',
      );
      assertError(
        await h.call('POST', `/v1/periods/${period}/close`),
        400,
        'VALIDATION_FAILED',
        'period',
      );
    });
  }

  test('unknown format 400, a month not yet begun 422, export needs a valid period', async () => {
    assertError(
      await h.call('GET', '/v1/tenants/acme/invoices/2025-11?format=xls'),
      400,
      'VALIDATION_FAILED',
      'format',
    );
    assertError(
      await h.call('GET', '/v1/tenants/acme/invoices/2199-01'),
      422,
      'PERIOD_NOT_STARTED',
      'period',
    );
    assertError(
      await h.call('GET', '/v1/invoices/export?format=csv'),
      400,
      'VALIDATION_FAILED',
      'period',
    );
    assertError(
      await h.call('GET', '/v1/invoices/export?period=2025-11&format=xml'),
      400,
      'VALIDATION_FAILED',
      'format',
    );
    assertError(await h.call('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
  });

  test('closing a month before its end plus grace is 409', async () => {
    const now = new Date();
    const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    const body = assertError(
      await h.call('POST', `/v1/periods/${current}/close`),
      409,
      'PERIOD_NOT_CLOSABLE',
    );
    assert.match(body.detail, /can be closed from/);
  });
});

describe('OpenAPI', () => {
  test('/docs-json describes every route, its schemas and its errors', async () => {
    const r = await h.call('GET', '/docs-json', { key: null });
    assert.equal(r.status, 200);
    const doc = r.json as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown[] }>
      >;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    const expected: [string, string, string[]][] = [
      ['/v1/tenants', 'post', ['201', '400', '401', '403', '409']],
      ['/v1/tenants/{id}', 'get', ['200', '401', '404']],
      ['/v1/tenants/{id}/api-keys', 'post', ['201', '401', '403', '404']],
      ['/v1/tenants/{id}/api-keys/{keyId}', 'delete', ['204', '401', '403', '404']],
      ['/v1/price-plans', 'post', ['201', '400', '401', '403', '422']],
      ['/v1/price-plans/{planId}', 'get', ['200', '404']],
      ['/v1/tenants/{id}/plan', 'put', ['200', '400', '404', '409', '422']],
      ['/v1/tenants/{id}/usage', 'get', ['200', '400', '401', '404', '422']],
      ['/v1/tenants/{id}/invoices/{period}', 'get', ['200', '400', '401', '404', '422']],
      ['/v1/periods/{period}/close', 'post', ['200', '400', '401', '403', '409']],
      ['/v1/invoices/export', 'get', ['200', '400', '401', '403']],
    ];
    for (const [path, method, statuses] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op !== undefined, `${method} ${path} documented`);
      for (const status of statuses)
        assert.ok(status in op.responses, `${method} ${path} documents ${status}`);
      assert.ok((op.security ?? []).length > 0, `${method} ${path} needs the bearer key`);
    }
    for (const schema of [
      'ErrorResponseDto',
      'CreatePricePlanDto',
      'TierDto',
      'InvoiceDto',
      'InvoiceLineDto',
      'UsageResponseDto',
      'TenantDto',
    ]) {
      assert.ok(schema in doc.components.schemas, schema);
    }
    assert.ok('bearer' in doc.components.securitySchemes);
  });
});

describe('rate limiting', () => {
  const limited = new BillingHarness();
  before(() => limited.start({ RATE_LIMIT: '5', RATE_LIMIT_WINDOW_MS: '60000' }));
  after(() => limited.stop());

  test('the sixth request in a window is 429 RATE_LIMITED', async () => {
    const statuses: number[] = [];
    let last: { status: number; json: unknown; headers: Headers } | undefined;
    for (let i = 0; i < 6; i++) {
      last = await limited.call('GET', '/v1/tenants/nobody');
      statuses.push(last.status);
    }
    assert.deepEqual(statuses.slice(0, 5), [404, 404, 404, 404, 404]);
    assert.ok(last !== undefined);
    assertError(last, 429, 'RATE_LIMITED');
  });
});
