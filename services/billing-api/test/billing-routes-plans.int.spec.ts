import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertError, startWithRoutesSeed } from './routes-harness';

/**
 * billing-api's price plan and plan assignment routes, over HTTP on a real server and PostgreSQL:
 * versions, every bad plan, assignments truncated to the tenant hour, and their errors.
 */
const h = new BillingHarness();

before(async () => {
  await startWithRoutesSeed(h);
});
after(() => h.stop());

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
