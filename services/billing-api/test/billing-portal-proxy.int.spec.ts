import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';
import { sessionCookieOf } from './portal-client';

/**
 * Behind an ingress (TRUSTED_PROXIES): the sign-in limiter counts each client the proxy names,
 * not the proxy, and a client cannot name itself past the proxy; the cookie is Secure when the
 * proxy says the request came over TLS. Real HTTP from 127.0.0.1, which is the trusted proxy here.
 */
const h = new BillingHarness();
let acmeKey = { id: '', key: '' };

before(async () => {
  await h.start({
    TRUSTED_PROXIES: 'loopback',
    PORTAL_SIGNIN_FAILURES: '2',
    PORTAL_SIGNIN_WINDOW_MS: '60000',
  });
  await h.tenant('acme');
  acmeKey = await h.key('acme');
});
after(() => h.stop());

function signIn(xff: string, apiKey: string, proto?: string): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'x-forwarded-for': xff };
  if (proto !== undefined) headers['x-forwarded-proto'] = proto;
  return h.call('POST', '/v1/portal/sessions', { key: null, body: { apiKey }, headers });
}

test('failed sign-ins are counted per client the proxy names, not per proxy', async () => {
  for (let i = 0; i < 2; i++)
    assert.equal((await signIn('203.0.113.5', `mk_bad_${i}`)).status, 401);
  assert.equal((await signIn('203.0.113.5', acmeKey.key)).status, 429);
  // Another client behind the same proxy is not locked out with it.
  const other = await signIn('203.0.113.6', acmeKey.key);
  assert.equal(other.status, 201, other.text);
  // A client that writes its own X-Forwarded-For gets the proxy's entry appended: the rightmost
  // untrusted address is still its own, so it cannot escape its window.
  assert.equal((await signIn('198.51.100.77, 203.0.113.5', acmeKey.key)).status, 429);
  assert.equal((await signIn('::ffff:203.0.113.5', acmeKey.key)).status, 429);
  // IPv6 clients are their own addresses too.
  assert.equal((await signIn('2001:db8::1', acmeKey.key)).status, 201);
});

test('odd X-Forwarded-For values are a client of their own or the proxy, never a 5xx', async () => {
  for (const xff of [
    '',
    ' , ,',
    'not-an-address',
    'é',
    '1.2.3.4.5',
    'x'.repeat(8_000),
    '-1',
    'NaN',
  ]) {
    const r = await signIn(xff, 'mk_bad_odd');
    assert.equal(r.status, 401, `${JSON.stringify(xff.slice(0, 20))}: ${r.text}`);
  }
});

test('X-Forwarded-Proto from the proxy makes the session cookie Secure', async () => {
  const tls = await signIn('203.0.113.20', acmeKey.key, 'https');
  assert.equal(tls.status, 201, tls.text);
  const line = tls.headers.getSetCookie().find((c) => c.startsWith('metering_portal='));
  assert.match(line ?? '', /; Secure/);
  assert.ok((sessionCookieOf(tls) ?? '').length > 0);
  const plain = await signIn('203.0.113.21', acmeKey.key, 'http');
  const plainLine = plain.headers.getSetCookie().find((c) => c.startsWith('metering_portal='));
  assert.doesNotMatch(plainLine ?? '', /Secure/);
});
