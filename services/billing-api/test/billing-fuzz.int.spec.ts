import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BillingHarness } from './billing-harness';

/**
 * Random bodies and query strings against the running API: whatever comes in, the answer is a
 * 2xx/4xx with the error shape, never a 5xx and never a stack trace. Bounded: a fixed number
 * of runs against 127.0.0.1 only.
 */
const h = new BillingHarness();
let tenantKey = '';

before(async () => {
  await h.start();
  await h.tenant('acme');
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] } });
  await h.assign('acme', 'std', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  tenantKey = (await h.key('acme')).key;
});
after(() => h.stop());

const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1e9',
    '2025-11',
    '2025-13',
    'UTC',
    'EUR',
    'usage',
    '9'.repeat(60),
    '2025-11-01T00:00:00Z',
  ),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }),
);
const tiers = fc.array(
  fc.record({ upTo: fc.oneof(fc.constant(null), scalar), unitPrice: scalar }, { requiredKeys: [] }),
  { maxLength: 4 },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      id: scalar,
      name: scalar,
      timeZone: scalar,
      currency: scalar,
      basis: scalar,
      cpu: fc.oneof(value, fc.record({ tiers: fc.oneof(value, tiers) })),
      memory: fc.oneof(value, fc.record({ tiers: fc.oneof(value, tiers) })),
      minimum: scalar,
      planId: scalar,
      planVersion: scalar,
      effectiveFrom: scalar,
    },
    { requiredKeys: [] },
  ),
);
const segment = fc.oneof(
  fc.constantFrom('acme', 'nobody', '2025-11', '2025-10', '1999-01', '2025-13', 'x'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const query = fc.dictionary(
  fc.oneof(
    fc.constantFrom('from', 'to', 'granularity', 'by', 'basis', 'format', 'period', 'from[x]'),
    fc.string({ maxLength: 6 }),
  ),
  fc.oneof(
    fc.constantFrom(
      '2025-11-01T00:00:00Z',
      '2025-12-01T00:00:00Z',
      'day',
      'hour',
      'resource',
      'csv',
      'jsonl',
      'pdf',
      '2025-11',
      '',
    ),
    fc.string({ maxLength: 20 }),
  ),
  { maxKeys: 5 },
);
const route = fc.constantFrom(
  ['POST', '/v1/tenants'],
  ['GET', '/v1/tenants/:a'],
  ['POST', '/v1/tenants/:a/api-keys'],
  ['DELETE', '/v1/tenants/:a/api-keys/:b'],
  ['POST', '/v1/price-plans'],
  ['GET', '/v1/price-plans/:a'],
  ['PUT', '/v1/tenants/:a/plan'],
  ['GET', '/v1/tenants/:a/usage'],
  ['GET', '/v1/tenants/:a/invoices/:b'],
  ['POST', '/v1/periods/:b/close'],
  ['GET', '/v1/invoices/export'],
) as fc.Arbitrary<[string, string]>;

test('fuzz: random bodies and query strings never cause a 5xx', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(
      route,
      segment,
      segment,
      query,
      fc.oneof(
        body.map((b) => ({ json: b })),
        fc.string({ maxLength: 60 }).map((raw) => ({ raw })),
      ),
      fc.constantFrom<'admin' | 'tenant' | 'none'>('admin', 'admin', 'tenant', 'none'),
      async ([method, template], a, b, q, payload, who) => {
        const path = template
          .replace(':a', encodeURIComponent(a))
          .replace(':b', encodeURIComponent(b));
        const search = new URLSearchParams(q).toString();
        const r = await h.call(method, search === '' ? path : `${path}?${search}`, {
          key: who === 'admin' ? undefined : who === 'tenant' ? tenantKey : null,
          ...(method === 'GET' || method === 'DELETE'
            ? {}
            : 'json' in payload
              ? { body: payload.json }
              : { rawBody: payload.raw }),
        });
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        assert.ok(r.status < 500, `${method} ${path}?${search} → ${r.status} ${r.text}`);
        assert.doesNotMatch(r.text, /\n\s+at |node_modules/);
      },
    ),
    { numRuns: 600 },
  );
  // The pass reached the handlers, not only the validation layer.
  assert.ok(
    [...seen.keys()].some((s) => s < 300),
    JSON.stringify([...seen]),
  );
  assert.ok(
    [...seen.keys()].some((s) => s === 400),
    JSON.stringify([...seen]),
  );
});
