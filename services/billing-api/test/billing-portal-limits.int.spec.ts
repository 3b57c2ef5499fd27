import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortalPurgeTask } from '../src/portal/portal-purge.task';
import { PortalSessionService } from '../src/portal/portal-session.service';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { PortalClient } from './portal-client';

/**
 * The portal's limits with short settings, on real HTTP and PostgreSQL: the idle timeout slides,
 * the absolute lifetime does not; a link expires; failed sign-ins are limited per address
 * (429 with Retry-After); hostile cookies (duplicated, huge, malformed, non-ASCII, NUL) are a
 * 4xx and never a session. The purge deletes what can no longer be used.
 */
const h = new BillingHarness();
let acmeKey = { id: '', key: '' };

before(async () => {
  await h.start({
    PORTAL_SESSION_IDLE_MS: '1500',
    PORTAL_SESSION_MAX_MS: '4000',
    PORTAL_LINK_TTL_MS: '1000',
    PORTAL_SIGNIN_FAILURES: '3',
    PORTAL_SIGNIN_WINDOW_MS: '60000',
  });
  await h.tenant('acme');
  acmeKey = await h.key('acme');
});
after(() => h.stop());

function assertProblem(r: ApiAnswer, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal((r.json as { code: string }).code, code, r.text);
}

describe('expiry', () => {
  test('idle timeout slides with use; the absolute lifetime ends it anyway', async () => {
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    // Used every 0.8 s (idle 1.5 s) it lives on, up to its 4 s lifetime.
    for (let i = 0; i < 4; i++) {
      await sleep(800);
      const r = await browser.call('GET', '/v1/portal/session');
      assert.equal(r.status, 200, `use ${i}: ${r.text}`);
    }
    await sleep(1000); // 4.2 s after the sign-in
    assertProblem(await browser.call('GET', '/v1/tenants/acme'), 401, 'UNAUTHENTICATED');

    const idle = new PortalClient(h);
    await idle.signIn({ apiKey: acmeKey.key });
    await sleep(1700);
    assertProblem(await idle.call('GET', '/v1/portal/session'), 401, 'UNAUTHENTICATED');
    // The failed lookups deleted the dead rows.
    const [left] = await h.db.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM portal_session`,
    );
    assert.equal(left?.n, '0');
  });

  test('a link expires unused; the purge deletes dead sessions and links', async () => {
    const r = await h.call('POST', '/v1/tenants/acme/portal-links');
    const { token } = r.json as { token: string };
    await sleep(1100);
    assertProblem(
      await h.call('POST', '/v1/portal/sessions', { key: null, body: { linkToken: token } }),
      401,
      'UNAUTHENTICATED',
    );
    const browser = new PortalClient(h);
    await browser.signIn({ apiKey: acmeKey.key });
    await sleep(1600);
    const before = await h.db.query<{ s: string; l: string }[]>(
      `SELECT (SELECT count(*) FROM portal_session)::text AS s, (SELECT count(*) FROM portal_link)::text AS l`,
    );
    assert.deepEqual(before, [{ s: '1', l: '1' }]);
    const purged = await h.app.get(PortalPurgeTask).purge();
    assert.deepEqual(purged, { sessions: 1, links: 1 });
  });
});

describe('failed sign-ins', () => {
  test('past the limit an address gets 429 with Retry-After, also with a good key', async () => {
    // The expired link above was this address's first failure: two more are allowed.
    for (let i = 0; i < 2; i++) {
      const r = await h.call('POST', '/v1/portal/sessions', {
        key: null,
        body: i === 1 ? { linkToken: 'x'.repeat(43) } : { apiKey: `mk_bad_${i}` },
      });
      assertProblem(r, 401, 'UNAUTHENTICATED');
    }
    for (const body of [{ apiKey: acmeKey.key }, { linkToken: 'y'.repeat(43) }]) {
      const r = await h.call('POST', '/v1/portal/sessions', { key: null, body });
      assertProblem(r, 429, 'RATE_LIMITED');
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${retry}`);
      assert.equal(r.headers.getSetCookie().length, 0);
    }
    // Without TRUSTED_PROXIES no header changes who the client is: a forged X-Forwarded-For is
    // the same address, still limited.
    for (const xff of ['203.0.113.9', '203.0.113.9, 198.51.100.1', 'é\u00a0', 'x'.repeat(8_000)]) {
      const r = await h.call('POST', '/v1/portal/sessions', {
        key: null,
        body: { apiKey: acmeKey.key },
        headers: { 'x-forwarded-for': xff },
      });
      assertProblem(r, 429, 'RATE_LIMITED');
    }
    // A session already open is not affected, nor are bearer keys.
    assert.equal((await h.call('GET', '/v1/tenants/acme', { key: acmeKey.key })).status, 200);
  });
});

describe('hostile cookies', () => {
  test('duplicated, malformed, huge or non-ASCII cookies are 401, never a session', async () => {
    const browser = new PortalClient(h);
    // The limiter above counts failures only: a good sign-in from this address is refused, so
    // the session is made through the service, as the controller would.
    const opened = await h.app.get(PortalSessionService).signInWithKey(acmeKey.key, 'elsewhere');
    browser.cookie = opened.token;
    assert.equal((await browser.call('GET', '/v1/tenants/acme')).status, 200);
    const good = `metering_portal=${opened.token}`;
    for (const cookie of [
      `${good}; ${good}`,
      `${good}; metering_portal=${'A'.repeat(43)}`,
      `metering_portal=${opened.token}x`,
      `metering_portal=${opened.token.slice(1)}`,
      `metering_portal="${opened.token}`,
      `metering_portal=${'é'.repeat(43)}`,
      `metering_portal=${'A'.repeat(10_000)}`,
      `metering_portal=`,
      `metering_portal=../../etc/passwd`,
    ]) {
      const r = await h.call('GET', '/v1/tenants/acme', { key: null, headers: { cookie } });
      assertProblem(r, 401, 'UNAUTHENTICATED');
    }
    // Other cookies beside it do not matter; quoting is allowed (RFC 6265).
    for (const cookie of [`a=b; ${good}; c=d`, `metering_portal="${opened.token}"`]) {
      const r = await h.call('GET', '/v1/tenants/acme', { key: null, headers: { cookie } });
      assert.equal(r.status, 200, `${cookie}: ${r.text}`);
    }
  });

  test('a NUL in the Cookie header is refused by the HTTP parser (400), not a 5xx', async () => {
    const { port } = new URL(h.baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET /v1/portal/session HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: metering_portal=a\u0000b\r\nConnection: close\r\n\r\n`,
        );
      });
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
  });
});
