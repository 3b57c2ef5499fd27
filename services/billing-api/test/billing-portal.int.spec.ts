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
      'apiKeyId',
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
    // The key the session was opened with (the portal marks it: revoking it ends the session).
    assert.equal(body.apiKeyId, acmeKey.id);
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

describe('CSRF on writes, sign-out', () => {
  test('a write with the cookie needs the session’s X-CSRF-Token; a bearer key does not', async () => {
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    const other = new PortalClient(h);
    await other.signIn({ apiKey: acmeKey.key });
    for (const csrf of [
      false,
      '',
      'x',
      other.csrf,
      `${browser.csrf}, ${browser.csrf}`,
      'é'.repeat(43),
    ]) {
      const r = await browser.call('POST', '/v1/tenants/acme/api-keys', { csrf });
      assertProblem(r, 403, 'CSRF_TOKEN_INVALID');
      assert.equal((r.json as { field: string }).field, 'X-CSRF-Token');
    }
    const created = await browser.call('POST', '/v1/tenants/acme/api-keys', { csrf: true });
    assert.equal(created.status, 201, created.text);
    const { id, key } = created.json as { id: string; key: string };
    assert.match(key, /^mk_[0-9a-f]{16}_/);
    assertProblem(
      await browser.call('DELETE', `/v1/tenants/acme/api-keys/${id}`),
      403,
      'CSRF_TOKEN_INVALID',
    );
    const revoked = await browser.call('DELETE', `/v1/tenants/acme/api-keys/${id}`, { csrf: true });
    assert.equal(revoked.status, 204, revoked.text);
    // Reads need no token; admin routes stay the admin's.
    assert.equal((await browser.call('GET', '/v1/tenants/acme')).status, 200);
    assertProblem(
      await browser.call('POST', '/v1/price-plans', {
        csrf: true,
        body: { id: 'p', currency: 'EUR', basis: 'usage' },
      }),
      403,
      'FORBIDDEN',
    );
    // The tenant's bearer key manages its own keys without any CSRF token.
    const byKey = await h.call('POST', '/v1/tenants/acme/api-keys', { key: acmeKey.key });
    assert.equal(byKey.status, 201, byKey.text);
    const ownId = (byKey.json as { id: string }).id;
    const gone = await h.call('DELETE', `/v1/tenants/acme/api-keys/${ownId}`, { key: acmeKey.key });
    assert.equal(gone.status, 204);
  });

  test('sign-out needs the token, ends the session and clears the cookie', async () => {
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    assertProblem(await browser.call('DELETE', '/v1/portal/session'), 403, 'CSRF_TOKEN_INVALID');
    const out = await browser.call('DELETE', '/v1/portal/session', { csrf: true });
    assert.equal(out.status, 204, out.text);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith('metering_portal='));
    assert.match(cleared ?? '', /^metering_portal=;.*Expires=Thu, 01 Jan 1970/);
    assertProblem(await browser.call('GET', '/v1/portal/session'), 401, 'UNAUTHENTICATED');
    assertProblem(await browser.call('GET', '/v1/tenants/acme'), 401, 'UNAUTHENTICATED');
  });
});

describe('admin read-only links', () => {
  test('admin only, stored hashed, usable once, read-only', async () => {
    const r = await h.call('POST', '/v1/tenants/acme/portal-links');
    assert.equal(r.status, 201, r.text);
    const link = r.json as { url: string; token: string; expiresAt: string };
    assert.equal(link.url, `/portal/#link=${link.token}`);
    assert.match(link.token, /^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(link.expiresAt) - Date.now();
    assert.ok(ttl > 50_000 && ttl <= 61_000, `link valid for ${ttl} ms`);
    const stored = JSON.stringify(
      await h.db.query(`SELECT encode(token_sha256, 'hex') AS t, tenant_id FROM portal_link`),
    );
    assert.ok(!stored.includes(link.token));
    assertProblem(
      await h.call('POST', '/v1/tenants/acme/portal-links', { key: acmeKey.key }),
      403,
      'FORBIDDEN',
    );
    assertProblem(await h.call('POST', '/v1/tenants/nobody/portal-links'), 404, 'TENANT_NOT_FOUND');

    const admin = new PortalClient(h);
    const session = await admin.signIn({ linkToken: link.token });
    assert.equal(session.readOnly, true);
    assert.equal(session.tenantId, 'acme');
    assert.equal(session.apiKeyId, null, 'a link session has no key');
    assertProblem(
      await h.call('POST', '/v1/portal/sessions', { key: null, body: { linkToken: link.token } }),
      401,
      'UNAUTHENTICATED',
    );
    assert.equal((await admin.call('GET', '/v1/tenants/acme/invoices')).status, 200);
    assertProblem(
      await admin.call('POST', '/v1/tenants/acme/api-keys', { csrf: true }),
      403,
      'READ_ONLY_SESSION',
    );
    assertProblem(
      await admin.call('DELETE', `/v1/tenants/acme/api-keys/${acmeKey.id}`, { csrf: true }),
      403,
      'READ_ONLY_SESSION',
    );
    // Without the token it is a CSRF failure first; signing out is allowed.
    assertProblem(await admin.call('POST', '/v1/tenants/acme/api-keys'), 403, 'CSRF_TOKEN_INVALID');
    assert.equal((await admin.call('DELETE', '/v1/portal/session', { csrf: true })).status, 204);
    for (const linkToken of ['', 'x'.repeat(43), link.token.toLowerCase(), `${link.token}=`]) {
      assertProblem(
        await h.call('POST', '/v1/portal/sessions', { key: null, body: { linkToken } }),
        401,
        'UNAUTHENTICATED',
      );
    }
  });
});

describe('the key behind a session', () => {
  test('revoking it ends its sessions; a session counts as a use of it', async () => {
    const fresh = await h.key('acme');
    const before = await h.call('GET', '/v1/api-keys?tenantId=acme&status=active&limit=200');
    const unused = (before.json as { data: { id: string; lastUsedAt: string | null }[] }).data;
    assert.equal(unused.find((k) => k.id === fresh.id)?.lastUsedAt, null);
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: fresh.key });
    const after = await browser.call('GET', '/v1/api-keys');
    assert.equal(after.status, 200);
    const seen = (
      after.json as { data: { id: string; tenantId: string; lastUsedAt: string | null }[] }
    ).data;
    assert.ok(
      seen.every((k) => k.tenantId === 'acme'),
      'a session lists its own tenant’s keys',
    );
    assert.notEqual(seen.find((k) => k.id === fresh.id)?.lastUsedAt ?? null, null);

    assert.equal((await h.call('DELETE', `/v1/tenants/acme/api-keys/${fresh.id}`)).status, 204);
    const [count] = await h.db.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM portal_session WHERE api_key_id = $1`,
      [fresh.id],
    );
    assert.equal(count?.n, '0', 'the revoke deleted its sessions');
    assertProblem(await browser.call('GET', '/v1/tenants/acme'), 401, 'UNAUTHENTICATED');
  });
});

describe('tenant scoping through the cookie', () => {
  test('another tenant’s ids in every tenant-scoped URL are 404, never its data', async () => {
    const globexKey = await h.key('globex');
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    const urls: [string, string][] = [
      ['GET', '/v1/tenants/globex'],
      ['GET', '/v1/tenants/globex/invoices'],
      ['GET', '/v1/tenants/globex/invoices/2026-11'],
      ['GET', '/v1/tenants/globex/invoices/2026-11?format=pdf'],
      ['GET', '/v1/tenants/globex/credit-notes/CN-2026-000001'],
      ['GET', '/v1/tenants/globex/usage?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z'],
      ['GET', '/v1/tenants/globex/overview'],
      ['POST', '/v1/tenants/globex/api-keys'],
      ['DELETE', `/v1/tenants/globex/api-keys/${globexKey.id}`],
      ['GET', '/v1/tenants/Acme'],
      ['GET', '/v1/tenants/acme%20'],
    ];
    for (const [method, url] of urls) {
      const r = await browser.call(method, url, { csrf: true });
      assertProblem(r, 404, 'TENANT_NOT_FOUND');
      assert.doesNotMatch(r.text, /GLOBEX|USD/, url);
    }
    const keys = await browser.call('GET', '/v1/api-keys?tenantId=globex');
    assert.deepEqual((keys.json as { data: unknown[] }).data, []);
    const tenants = await browser.call('GET', '/v1/tenants');
    assert.deepEqual(
      (tenants.json as { data: { id: string }[] }).data.map((t) => t.id),
      ['acme'],
    );
    // The globex key was not revoked by any of it.
    assert.equal((await h.call('GET', '/v1/tenants/globex', { key: globexKey.key })).status, 200);
  });

  test('a bearer header wins over the cookie: a bad one is 401 whatever the cookie', async () => {
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    const bad = await browser.call('GET', '/v1/tenants/acme', {
      headers: { authorization: 'Bearer nonsense' },
    });
    assertProblem(bad, 401, 'UNAUTHENTICATED');
    const globex = await h.key('globex');
    const asGlobex = await browser.call('GET', '/v1/tenants/acme', {
      headers: { authorization: `Bearer ${globex.key}` },
    });
    assertProblem(asGlobex, 404, 'TENANT_NOT_FOUND');
  });
});
