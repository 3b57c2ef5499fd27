import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError } from '@metering/config';
import { loadPortalConfig } from './portal.config';

test('portal settings: defaults, and refusals that name the setting', () => {
  const defaults = loadPortalConfig({});
  assert.equal(defaults.sessionIdleMs, 1_800_000);
  assert.equal(defaults.sessionMaxMs, 43_200_000);
  assert.equal(defaults.cookieSecure, false);
  assert.equal(defaults.linkTtlMs, 300_000);
  assert.deepEqual(defaults.signIn, { failures: 10, windowMs: 900_000 });
  assert.match(defaults.dir, /services\/portal\/dist$/);
  assert.equal(loadPortalConfig({ PORTAL_DIR: 'x/dist' }).dir, resolve('x/dist'));
  assert.equal(loadPortalConfig({ PORTAL_COOKIE_SECURE: 'true' }).cookieSecure, true);
  assert.equal(defaults.trustedProxies, false);
  assert.equal(loadPortalConfig({ TRUSTED_PROXIES: '2' }).trustedProxies, 2);
  for (const [env, name] of [
    [{ PORTAL_SESSION_IDLE_MS: '10' }, 'PORTAL_SESSION_IDLE_MS'],
    [{ PORTAL_SESSION_MAX_MS: 'soon' }, 'PORTAL_SESSION_MAX_MS'],
    [
      { PORTAL_SESSION_IDLE_MS: '7200000', PORTAL_SESSION_MAX_MS: '3600000' },
      'PORTAL_SESSION_IDLE_MS',
    ],
    [{ PORTAL_COOKIE_SECURE: 'yes' }, 'PORTAL_COOKIE_SECURE'],
    [{ PORTAL_SIGNIN_FAILURES: '0' }, 'PORTAL_SIGNIN_FAILURES'],
    [{ PORTAL_DIR: '' }, 'PORTAL_DIR'],
    [{ TRUSTED_PROXIES: 'true' }, 'TRUSTED_PROXIES'],
  ] as const) {
    assert.throws(
      () => loadPortalConfig(env),
      (e: unknown) => e instanceof ConfigError && e.message.includes(name),
      name,
    );
  }
});
