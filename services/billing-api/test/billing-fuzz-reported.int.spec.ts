import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertSound, type ErrorBody, startFuzzHarness } from './fuzz-harness';

/**
 * The 500s reported against the API (issue 15) and their class, against the running API: each is
 * now a 400 naming its field; a tenant key with a NUL in its own routes learns nothing.
 */
const h = new BillingHarness();
let tenantKey = '';

before(async () => {
  tenantKey = await startFuzzHarness(h);
});
after(() => h.stop());

describe('the reported 500s and their class: each a 400 naming its field', () => {
  const cases: [string, string, { body?: unknown; rawBody?: string | Uint8Array }, string][] = [
    ['GET', '/v1/tenants/%00', {}, 'id'],
    ['GET', '/v1/tenants/acme%01', {}, 'id'],
    ['GET', '/v1/tenants/%C2%85', {}, 'id'],
    ['GET', '/v1/price-plans/std%00', {}, 'planId'],
    ['DELETE', '/v1/tenants/acme/api-keys/%00', {}, 'keyId'],
    ['DELETE', '/v1/tenants/acme/budget-thresholds/%00', {}, 'thresholdId'],
    ['POST', '/v1/tenants/acme/budget-thresholds', { body: { amount: '1\u0000' } }, 'amount'],
    ['GET', '/v1/tenants/%ED%A0%80', {}, 'path'],
    ['GET', '/v1/tenants/%E0%A4%A', {}, 'path'],
    ['GET', '/v1/tenants/%FF', {}, 'path'],
    ['POST', '/v1/tenants', { body: { id: 'nul', name: 'a\u0000b', currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'lone', name: 'a\ud800', currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'tab', name: 'a\tb', currency: 'EUR' } }, 'name'],
    [
      'POST',
      '/v1/tenants',
      { body: { id: 'key', name: 'n', currency: 'EUR', 'x\u0000': 1 } },
      'x\\u0000',
    ],
    [
      'POST',
      '/v1/tenants',
      { rawBody: Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) },
      'body',
    ],
    [
      'POST',
      '/v1/price-plans',
      {
        body: {
          id: 'p',
          currency: 'EUR',
          basis: 'usage',
          cpu: { tiers: [{ upTo: null, unitPrice: '0.04\u0000' }] },
        },
      },
      'cpu.tiers[0].unitPrice',
    ],
    ['GET', '/v1/invoices/export?period=0001-01', {}, 'period'],
    ['GET', '/v1/invoices/export?period=9999-12', {}, 'period'],
    ['GET', '/v1/invoices/export?period=2025-11%00', {}, 'period'],
    ['GET', '/v1/tenants/acme/invoices/9999-12', {}, 'period'],
    ['POST', '/v1/periods/0001-01/close', {}, 'period'],
    ['GET', '/v1/tenants/acme/usage?from=2026-02-31T00:00:00Z&to=2026-03-05T00:00:00Z', {}, 'from'],
    ['GET', '/v1/tenants/acme/usage?from=2026-02-01T00:00:00Z&to=2026-02-28T24:00:00Z', {}, 'to'],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', effectiveFrom: '2026-02-30T00:00:00Z' } },
      'effectiveFrom',
    ],
    ['GET', '/v1/unbilled-usage?period=9999-12', {}, 'period'],
    ['GET', '/v1/unbilled-usage?period=2025-11&cursor=%00', {}, 'cursor'],
  ];
  for (const [method, url, options, field] of cases) {
    const shown =
      options.rawBody instanceof Uint8Array
        ? `bytes ${Buffer.from(options.rawBody).toString('hex')}`
        : JSON.stringify(options.body ?? options.rawBody ?? '');
    test(`${method} ${url} ${shown} → 400 ${field}`, async () => {
      const r = await h.call(method, url, options);
      assertSound(r, `${method} ${url}`);
      assert.equal(r.status, 400, r.text);
      assert.equal((r.json as ErrorBody).field, field, r.text);
    });
  }

  test('a tenant key with a NUL in its own routes learns nothing: 404, never 500', async () => {
    const r = await h.call('GET', '/v1/tenants/acme%00/usage?from=x', { key: tenantKey });
    assert.equal(r.status, 404, r.text);
  });
});
