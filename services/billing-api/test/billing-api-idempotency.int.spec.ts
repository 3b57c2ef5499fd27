import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { assertProblem, startWithResources, walkerFor } from './resources-harness';

/**
 * Idempotency-Key on POST (issue 15, items 2 and 4), over HTTP on a real billing-api and
 * PostgreSQL: replays, conflicts, failures, concurrency and expiry.
 */
const h = new BillingHarness();
const walk = walkerFor(h);
let acmeKey = '';

before(async () => {
  ({ acmeKey } = await startWithResources(h));
});
after(() => h.stop());

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
