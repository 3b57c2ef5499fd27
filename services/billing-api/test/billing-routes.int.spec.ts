import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';

/** An RFC 9457 problem with our extension members. */
interface ErrorBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  field?: string;
  errors?: { field: string; message: string }[];
}

const h = new BillingHarness();
let acmeKey = '';
let acmeKeyId = '';
let globexKey = '';

before(async () => {
  await h.start();
  await h.tenant('acme', 'EUR', 'Europe/Paris');
  await h.tenant('globex', 'USD', 'America/New_York');
  acmeKey = (await h.key('acme')).key;
  acmeKeyId = (await h.key('acme')).id; // a second key, revoked below
  globexKey = (await h.key('globex')).key;
  await h.bucket('acme', 'web-1', '2025-11-03T10:00:00Z', '1.5', '2');
  await h.bucket('acme', 'web-2', '2025-11-03T10:00:00Z', '0.5', '1');
  await h.bucket('acme', 'web-1', '2025-11-03T23:00:00Z', '1', '0'); // 4 Nov 00:00 in Paris
  await h.bucket('globex', 'db-1', '2025-11-03T10:00:00Z', '100', '100');
});
after(() => h.stop());

function assertError(
  r: { status: number; json: unknown; headers: Headers },
  status: number,
  code: string,
  field?: string,
): ErrorBody {
  const body = r.json as ErrorBody;
  assert.equal(r.status, status, JSON.stringify(body));
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(body.status, status);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(
    body.type,
    `tag:metering.billing-api,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`,
  );
  assert.ok(body.title.length > 0 && !body.title.includes(':'), body.title);
  assert.match(body.instance, /^\/v1\//);
  if (field !== undefined) {
    const fields = [body.field, ...(body.errors ?? []).map((e) => e.field)];
    assert.ok(fields.includes(field), `expected field ${field} in ${JSON.stringify(body)}`);
    assert.match(body.detail, new RegExp(field.replace(/[[\].]/g, '\\$&')));
  }
  assert.doesNotMatch(JSON.stringify(body), /at .*\.js:\d+|node_modules|stack/);
  return body;
}

describe('tenants', () => {
  test('POST /v1/tenants creates, normalises the zone, and refuses a second time', async () => {
    const r = await h.call('POST', '/v1/tenants', {
      body: {
        id: 'initech',
        name: 'Initech',
        timeZone: 'europe/paris',
        currency: 'EUR',
        extra: 'ignored',
      },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(
      { ...(r.json as Record<string, unknown>), createdAt: undefined },
      {
        id: 'initech',
        name: 'Initech',
        timeZone: 'Europe/Paris',
        currency: 'EUR',
        plans: [],
        createdAt: undefined,
        billing: {
          legalName: null,
          address: null,
          taxId: null,
          email: null,
          taxRate: null,
          taxExemptionReason: null,
          paymentTermsDays: 30,
          locale: 'en',
        },
      },
    );
    const kolkata = await h.call('POST', '/v1/tenants', {
      body: { id: 'initech-in', name: 'Initech India', timeZone: 'Asia/Kolkata', currency: 'INR' },
    });
    assert.equal(
      (kolkata.json as { timeZone: string }).timeZone,
      'Asia/Kolkata',
      'not ICU’s Asia/Calcutta',
    );
    assertError(
      await h.call('POST', '/v1/tenants', { body: { id: 'initech', name: 'x', currency: 'INR' } }),
      409,
      'TENANT_EXISTS',
    );
    const utc = await h.call('POST', '/v1/tenants', {
      body: { id: 'default-zone', name: 'D', currency: 'JPY' },
    });
    assert.equal((utc.json as { timeZone: string }).timeZone, 'UTC');
  });

  const invalid: [string, unknown, string][] = [
    ['missing id', { name: 'A', currency: 'EUR' }, 'id'],
    ['id of the wrong type', { id: 42, name: 'A', currency: 'EUR' }, 'id'],
    ['id with a slash', { id: 'a/b', name: 'A', currency: 'EUR' }, 'id'],
    ['missing name', { id: 'n1', currency: 'EUR' }, 'name'],
    ['empty name', { id: 'n1', name: '', currency: 'EUR' }, 'name'],
    [
      'unknown zone',
      { id: 'n1', name: 'A', timeZone: 'Mars/Olympus', currency: 'EUR' },
      'timeZone',
    ],
    [
      'offset instead of a zone',
      { id: 'n1', name: 'A', timeZone: '+05:30', currency: 'EUR' },
      'timeZone',
    ],
    ['lower-case currency', { id: 'n1', name: 'A', currency: 'eur' }, 'currency'],
    ['unknown currency', { id: 'n1', name: 'A', currency: 'XYZ' }, 'currency'],
    ['currency of the wrong type', { id: 'n1', name: 'A', currency: 978 }, 'currency'],
  ];
  for (const [name, body, field] of invalid) {
    test(`POST /v1/tenants: ${name} → 400 naming ${field}`, async () => {
      assertError(await h.call('POST', '/v1/tenants', { body }), 400, 'VALIDATION_FAILED', field);
    });
  }

  test('bodies that are not objects, or not JSON, are 400', async () => {
    assertError(
      await h.call('POST', '/v1/tenants', { body: [1, 2] }),
      400,
      'VALIDATION_FAILED',
      'body',
    );
    assertError(
      await h.call('POST', '/v1/tenants', { rawBody: '"text"' }),
      400,
      'VALIDATION_FAILED',
    );
    assertError(
      await h.call('POST', '/v1/tenants', { rawBody: '{"id": ' }),
      400,
      'VALIDATION_FAILED',
      'body',
    );
    assertError(await h.call('POST', '/v1/tenants'), 400, 'VALIDATION_FAILED');
    const big = await h.call('POST', '/v1/tenants', {
      rawBody: JSON.stringify({ name: 'x'.repeat(400_000) }),
    });
    assertError(big, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('GET /v1/tenants/:id: admin and own key see it; another tenant or an unknown id is 404', async () => {
    const admin = await h.call('GET', '/v1/tenants/acme');
    assert.equal(admin.status, 200);
    assert.equal((admin.json as { timeZone: string }).timeZone, 'Europe/Paris');
    const own = await h.call('GET', '/v1/tenants/acme', { key: acmeKey });
    assert.equal(own.status, 200);
    const other = await h.call('GET', '/v1/tenants/globex', { key: acmeKey });
    const unknown = await h.call('GET', '/v1/tenants/nobody', { key: acmeKey });
    assertError(other, 404, 'TENANT_NOT_FOUND');
    assertError(unknown, 404, 'TENANT_NOT_FOUND');
    assert.doesNotMatch(other.text, /USD|New_York|GLOBEX/, 'nothing of the other tenant leaks');
    assertError(await h.call('GET', '/v1/tenants/nobody'), 404, 'TENANT_NOT_FOUND');
  });
});

describe('authentication and isolation', () => {
  test('missing, malformed or wrong keys are 401', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer wrong-key-0123456789' },
      { authorization: `Bearer ${acmeKey}x` },
      // The last character changed (to one it is not: a key ending in A would stay valid).
      { authorization: `Bearer ${acmeKey.slice(0, -1)}${acmeKey.endsWith('A') ? 'B' : 'A'}` },
      { authorization: `bearer ${acmeKey}` },
    ]) {
      assertError(
        await h.call('GET', '/v1/tenants/acme', { key: null, headers }),
        401,
        'UNAUTHENTICATED',
      );
    }
  });

  test('tenant keys get 403 on admin routes', async () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/tenants', { id: 'x1', name: 'x', currency: 'EUR' }],
      ['POST', '/v1/tenants/acme/portal-links'],
      ['POST', '/v1/price-plans', { id: 'p', currency: 'EUR', basis: 'usage' }],
      ['PUT', '/v1/tenants/acme/plan', { planId: 'p', effectiveFrom: '2025-11-01T00:00:00Z' }],
      ['POST', '/v1/periods/2025-10/close'],
      ['GET', '/v1/invoices/export?period=2025-11&format=csv'],
      ['GET', '/v1/price-plans/p'],
    ];
    for (const [method, path, body] of routes) {
      assertError(await h.call(method, path, { key: acmeKey, body }), 403, 'FORBIDDEN');
    }
  });

  test('cross-tenant reads of usage and invoices are 404 and carry no data', async () => {
    for (const path of [
      '/v1/tenants/globex/usage?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z',
      '/v1/tenants/globex/invoices/2025-11',
      '/v1/tenants/globex/invoices/2025-11?format=pdf',
      '/v1/tenants/globex/invoices/2025-11?format=csv',
    ]) {
      const r = await h.call('GET', path, { key: acmeKey });
      assertError(r, 404, 'TENANT_NOT_FOUND');
      assert.doesNotMatch(r.text, /db-1|USD/);
    }
    const own = await h.call('GET', '/v1/tenants/globex/invoices/2025-11', { key: globexKey });
    assert.equal(own.status, 200);
  });

  test('a revoked key stops working at once; revoking twice is 404', async () => {
    const issued = await h.key('acme');
    assert.equal((await h.call('GET', '/v1/tenants/acme', { key: issued.key })).status, 200);
    const revoke = await h.call('DELETE', `/v1/tenants/acme/api-keys/${issued.id}`);
    assert.equal(revoke.status, 204);
    assertError(
      await h.call('GET', '/v1/tenants/acme', { key: issued.key }),
      401,
      'UNAUTHENTICATED',
    );
    assertError(
      await h.call('DELETE', `/v1/tenants/acme/api-keys/${issued.id}`),
      404,
      'API_KEY_NOT_FOUND',
    );
    assertError(
      await h.call('DELETE', `/v1/tenants/globex/api-keys/${acmeKeyId}`),
      404,
      'API_KEY_NOT_FOUND',
    );
    assertError(await h.call('POST', '/v1/tenants/nobody/api-keys'), 404, 'TENANT_NOT_FOUND');
  });

  test('keys are stored hashed: the secret is nowhere in the database', async () => {
    const issued = await h.key('acme');
    assert.match(issued.key, /^mk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const secret = issued.key.slice(20);
    const rows = await h.db.query<{ row: string }[]>(
      `SELECT row_to_json(k)::text AS row FROM api_key k`,
    );
    for (const { row } of rows) assert.ok(!row.includes(secret));
    const stored = await h.db.query<{ hex: string }[]>(
      `SELECT encode(secret_sha256, 'hex') AS hex FROM api_key WHERE id = $1`,
      [issued.id],
    );
    const { createHash } = await import('node:crypto');
    assert.equal(stored[0]?.hex, createHash('sha256').update(secret).digest('hex'));
  });

  test('/healthz, /metrics and /docs need no key', async () => {
    const health = await h.call('GET', '/healthz', { key: null });
    assert.equal(health.status, 200);
    assert.equal(
      (health.json as { checks: { database: { status: string } } }).checks.database.status,
      'up',
    );
    const metrics = await h.call('GET', '/metrics', { key: null });
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /billing_api_http_requests_total\{[^}]*route="\/v1\/tenants\/:id"/);
    assert.match(metrics.text, /billing_api_http_request_duration_seconds_bucket/);
    assert.doesNotMatch(metrics.text, new RegExp(acmeKey));
    assert.equal((await h.call('GET', '/docs', { key: null })).status, 200);
  });
});

describe('price plans', () => {
  const std = {
    id: 'std',
    currency: 'EUR',
    basis: 'usage',
    cpu: {
      tiers: [
        { upTo: '100', unitPrice: '0.040' },
        { upTo: null, unitPrice: '0.030' },
      ],
    },
    memory: { tiers: [{ upTo: null, unitPrice: '0.0050' }] },
    minimum: '0.00',
  };

  test('posting an id again creates the next version; earlier versions stay', async () => {
    const v1 = await h.call('POST', '/v1/price-plans', { body: std });
    assert.equal(v1.status, 201);
    assert.deepEqual((v1.json as { version: number; cpu: unknown }).version, 1);
    const v2 = await h.call('POST', '/v1/price-plans', { body: { ...std, minimum: '5.00' } });
    assert.equal((v2.json as { version: number }).version, 2);
    const all = await h.call('GET', '/v1/price-plans/std');
    assert.deepEqual(
      (all.json as { version: number; minimum: string }[]).map((p) => [p.version, p.minimum]),
      [
        [1, '0'],
        [2, '5'],
      ],
    );
    const memOnly = await h.call('POST', '/v1/price-plans', {
      body: {
        id: 'mem',
        currency: 'USD',
        basis: 'max',
        memory: { tiers: [{ upTo: null, unitPrice: '0.01' }] },
      },
    });
    assert.equal(memOnly.status, 201);
    assert.equal((memOnly.json as { cpu: unknown }).cpu, null);
    assertError(await h.call('GET', '/v1/price-plans/none'), 404, 'PLAN_NOT_FOUND');
  });

  const malformed: [string, Record<string, unknown>, string][] = [
    ['missing currency', { currency: undefined }, 'currency'],
    ['unknown basis', { basis: 'peak' }, 'basis'],
    [
      'price as a number',
      { cpu: { tiers: [{ upTo: null, unitPrice: 0.04 }] } },
      'cpu.tiers[0].unitPrice',
    ],
    [
      'upTo as a number',
      {
        cpu: {
          tiers: [
            { upTo: 100, unitPrice: '1' },
            { upTo: null, unitPrice: '1' },
          ],
        },
      },
      'cpu.tiers[0].upTo',
    ],
    [
      'exponent notation',
      { memory: { tiers: [{ upTo: null, unitPrice: '1e-3' }] } },
      'memory.tiers[0].unitPrice',
    ],
    [
      'absurd magnitude',
      { memory: { tiers: [{ upTo: null, unitPrice: '1'.repeat(40) }] } },
      'memory.tiers[0].unitPrice',
    ],
    ['tiers not an array', { cpu: { tiers: 'flat' } }, 'cpu.tiers'],
    ['no tiers', { cpu: { tiers: [] } }, 'cpu.tiers'],
    ['cpu not an object', { cpu: 5 }, 'cpu'],
    ['minimum as a number', { minimum: 10 }, 'minimum'],
  ];
  for (const [name, patch, field] of malformed) {
    test(`POST /v1/price-plans: ${name} → 400 naming ${field}`, async () => {
      assertError(
        await h.call('POST', '/v1/price-plans', { body: { ...std, ...patch } }),
        400,
        'VALIDATION_FAILED',
        field,
      );
    });
  }

  const absurd: [string, Record<string, unknown>, string][] = [
    [
      'negative price',
      { cpu: { tiers: [{ upTo: null, unitPrice: '-0.01' }] } },
      'cpu.tiers[0].unitPrice',
    ],
    [
      'upTo not increasing',
      {
        cpu: {
          tiers: [
            { upTo: '100', unitPrice: '1' },
            { upTo: '50', unitPrice: '1' },
            { upTo: null, unitPrice: '1' },
          ],
        },
      },
      'cpu.tiers[1].upTo',
    ],
    [
      'bounded last tier',
      { memory: { tiers: [{ upTo: '10', unitPrice: '1' }] } },
      'memory.tiers[0].upTo',
    ],
    [
      'unbounded middle tier',
      {
        memory: {
          tiers: [
            { upTo: null, unitPrice: '1' },
            { upTo: null, unitPrice: '1' },
          ],
        },
      },
      'memory.tiers[0].upTo',
    ],
    ['negative minimum', { minimum: '-5' }, 'minimum'],
  ];
  for (const [name, patch, field] of absurd) {
    test(`POST /v1/price-plans: ${name} → 422 naming ${field}`, async () => {
      assertError(
        await h.call('POST', '/v1/price-plans', { body: { ...std, ...patch } }),
        422,
        'PLAN_INVALID',
        field,
      );
    });
  }
});

describe('plan assignment', () => {
  before(async () => {
    await h.plan({ id: 'eur-flat', cpu: { tiers: [{ upTo: null, unitPrice: '1' }] } });
  });

  test('PUT /v1/tenants/:id/plan truncates to the tenant hour and lists the assignment', async () => {
    const r = await h.call('PUT', '/v1/tenants/acme/plan', {
      body: { planId: 'eur-flat', effectiveFrom: '2025-11-16T10:42:00+01:00' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      tenantId: 'acme',
      planId: 'eur-flat',
      planVersion: 1,
      effectiveFrom: '2025-11-16T09:00:00.000Z',
      requestedEffectiveFrom: '2025-11-16T09:42:00.000Z',
    });
    const tenant = await h.call('GET', '/v1/tenants/acme');
    assert.deepEqual((tenant.json as { plans: unknown[] }).plans, [
      { planId: 'eur-flat', planVersion: 1, effectiveFrom: '2025-11-16T09:00:00.000Z' },
    ]);
  });

  test('errors: unknown plan or version 404, currency mismatch 422, bad input 400', async () => {
    assertError(
      await h.call('PUT', '/v1/tenants/acme/plan', {
        body: { planId: 'nope', effectiveFrom: '2025-11-01T00:00:00Z' },
      }),
      404,
      'PLAN_NOT_FOUND',
    );
    assertError(
      await h.call('PUT', '/v1/tenants/acme/plan', {
        body: { planId: 'eur-flat', planVersion: 9, effectiveFrom: '2025-11-01T00:00:00Z' },
      }),
      404,
      'PLAN_NOT_FOUND',
    );
    assertError(
      await h.call('PUT', '/v1/tenants/globex/plan', {
        body: { planId: 'eur-flat', effectiveFrom: '2025-11-01T00:00:00Z' },
      }),
      422,
      'PLAN_CURRENCY_MISMATCH',
      'planId',
    );
    assertError(
      await h.call('PUT', '/v1/tenants/nobody/plan', {
        body: { planId: 'eur-flat', effectiveFrom: '2025-11-01T00:00:00Z' },
      }),
      404,
      'TENANT_NOT_FOUND',
    );
    for (const [body, field] of [
      [{ effectiveFrom: '2025-11-01T00:00:00Z' }, 'planId'],
      [{ planId: 'eur-flat' }, 'effectiveFrom'],
      [{ planId: 'eur-flat', effectiveFrom: '2025-11-01' }, 'effectiveFrom'],
      [{ planId: 'eur-flat', effectiveFrom: '2025-11-01T00:00:00' }, 'effectiveFrom'],
      [{ planId: 'eur-flat', effectiveFrom: '9999-01-01T00:00:00Z' }, 'effectiveFrom'],
      [{ planId: 'eur-flat', effectiveFrom: 1700000000000 }, 'effectiveFrom'],
      [
        { planId: 'eur-flat', planVersion: 'one', effectiveFrom: '2025-11-01T00:00:00Z' },
        'planVersion',
      ],
      [
        { planId: 'eur-flat', planVersion: 0, effectiveFrom: '2025-11-01T00:00:00Z' },
        'planVersion',
      ],
    ] as const) {
      assertError(
        await h.call('PUT', '/v1/tenants/acme/plan', { body }),
        400,
        'VALIDATION_FAILED',
        field,
      );
    }
  });
});

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
