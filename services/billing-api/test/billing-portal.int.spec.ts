import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { PortalClient, type PortalSessionJson, sessionCookieOf } from './portal-client';

/**
 * The portal's sessions over real HTTP on 127.0.0.1 and a real PostgreSQL schema: sign-in with
 * good, bad, revoked and admin keys, the cookie's flags, CSRF on writes, read-only admin links
 * (once, and not after they expire), expiry (short timeouts), tenant scoping through the cookie.
 */
const h = new BillingHarness();
let acmeKey = { id: '', key: '' };

before(async () => {
  await h.start({
    PORTAL_SESSION_IDLE_MS: '60000',
    PORTAL_SESSION_MAX_MS: '120000',
    PORTAL_LINK_TTL_MS: '60000',
    PORTAL_SIGNIN_FAILURES: '1000',
  });
  await h.tenant('acme', 'EUR', 'Europe/Paris', 'Acme Ωμέγα');
  await h.tenant('globex', 'USD');
  acmeKey = await h.key('acme');
  await h.key('globex');
});
after(() => h.stop());

function assertProblem(r: ApiAnswer, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal((r.json as { code: string }).code, code, r.text);
}

describe('sign-in', () => {
  test('a tenant key opens a session: the body, the cookie and its flags', async () => {
    const r = await h.call('POST', '/v1/portal/sessions', {
      key: null,
      body: { apiKey: acmeKey.key },
    });
    assert.equal(r.status, 201, r.text);
    const body = r.json as PortalSessionJson;
    assert.deepEqual(Object.keys(body).sort(), [
      'csrfToken',
      'currency',
      'expiresAt',
      'readOnly',
      'tenantId',
      'tenantName',
      'timeZone',
    ]);
    assert.equal(body.tenantId, 'acme');
    assert.equal(body.tenantName, 'Acme Ωμέγα');
    assert.equal(body.readOnly, false);
    assert.equal(body.timeZone, 'Europe/Paris');
    assert.equal(body.currency, 'EUR');
    assert.match(body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    const idleEnd = Date.parse(body.expiresAt) - Date.now();
    assert.ok(idleEnd > 50_000 && idleEnd <= 61_000, `idle end in ${idleEnd} ms`);
    const setCookie = r.headers.getSetCookie().find((c) => c.startsWith('metering_portal='));
    assert.ok(setCookie !== undefined, 'Set-Cookie metering_portal');
    assert.match(setCookie, /^metering_portal=[A-Za-z0-9_-]{43}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; Max-Age=120(;|$)/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP without PORTAL_COOKIE_SECURE');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    // Only hashes are stored: neither token is in the table.
    const token = sessionCookieOf(r) ?? '';
    const rows = await h.db.query<{ t: string; c: string; k: string | null }[]>(
      `SELECT encode(token_sha256, 'hex') AS t, encode(csrf_sha256, 'hex') AS c, api_key_id AS k FROM portal_session`,
    );
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(token) && !dump.includes(body.csrfToken));
    assert.ok(rows.some((row) => row.k === acmeKey.id));
  });

  test('GET /v1/portal/session answers the same view; 401 without a cookie', async () => {
    const browser = new PortalClient(h);
    const opened = await browser.signIn({ apiKey: acmeKey.key });
    const r = await browser.call('GET', '/v1/portal/session');
    assert.equal(r.status, 200, r.text);
    const again = r.json as PortalSessionJson;
    assert.equal(again.csrfToken, opened.csrfToken, 'the same CSRF token after a reload');
    assert.equal(again.tenantId, 'acme');
    assertProblem(await h.call('GET', '/v1/portal/session', { key: null }), 401, 'UNAUTHENTICATED');
    // A bearer key is no session.
    assertProblem(
      await h.call('GET', '/v1/portal/session', { key: acmeKey.key }),
      401,
      'UNAUTHENTICATED',
    );
  });

  test('bad, revoked and admin keys; neither or both members', async () => {
    for (const apiKey of ['mk_0123456789abcdef_' + 'a'.repeat(43), 'nonsense', 'mk_', ' ']) {
      const r = await h.call('POST', '/v1/portal/sessions', { key: null, body: { apiKey } });
      assertProblem(r, 401, 'UNAUTHENTICATED');
      assert.equal(sessionCookieOf(r), undefined);
    }
    const spare = await h.key('acme');
    assert.equal((await h.call('DELETE', `/v1/tenants/acme/api-keys/${spare.id}`)).status, 204);
    assertProblem(
      await h.call('POST', '/v1/portal/sessions', { key: null, body: { apiKey: spare.key } }),
      401,
      'UNAUTHENTICATED',
    );
    const admin = await h.call('POST', '/v1/portal/sessions', {
      key: null,
      body: { apiKey: 'test-admin-key-0123456789abcdef' },
    });
    assertProblem(admin, 403, 'FORBIDDEN');
    assert.equal(sessionCookieOf(admin), undefined);
    for (const [body, field] of [
      [{}, 'apiKey'],
      [{ apiKey: acmeKey.key, linkToken: 'x'.repeat(43) }, 'linkToken'],
      [{ apiKey: 42 }, 'apiKey'],
      [{ apiKey: ['a'] }, 'apiKey'],
      [{ apiKey: null }, 'apiKey'],
      [{ linkToken: { a: 1 } }, 'linkToken'],
      [{ apiKey: 'k'.repeat(513) }, 'apiKey'],
      [{ apiKey: 'mk_\u0000' }, 'apiKey'],
    ] as const) {
      const r = await h.call('POST', '/v1/portal/sessions', { key: null, body });
      assertProblem(r, 400, 'VALIDATION_FAILED');
      assert.equal((r.json as { field: string }).field, field, r.text);
    }
  });
});
