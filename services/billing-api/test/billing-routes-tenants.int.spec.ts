import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertError, startWithRoutesSeed } from './routes-harness';

/**
 * billing-api's tenant routes and their guard, over HTTP on a real server and PostgreSQL: creating
 * and reading tenants with every bad body, authentication (missing, wrong, revoked keys), tenant
 * isolation, hashed key storage, and the routes that need no key.
 */
const h = new BillingHarness();
let acmeKey = '';
let acmeKeyId = '';
let globexKey = '';

before(async () => {
  ({ acmeKey, acmeKeyId, globexKey } = await startWithRoutesSeed(h));
});
after(() => h.stop());

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
