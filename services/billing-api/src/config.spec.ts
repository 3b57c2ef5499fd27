import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadBillingConfig } from './config';

const dir = () => mkdtempSync(join(tmpdir(), 'billing-config-'));
/** A complete seller: production refuses to start without one. */
const SELLER = {
  SELLER_LEGAL_NAME: 'Metering Cloud GmbH',
  SELLER_ADDRESS: 'Hauptstraße 1|10115 Berlin|Germany',
  SELLER_TAX_ID: 'DE123456789',
  SELLER_IBAN: 'DE89 3704 0044 0532 0130 00',
};

test('without ADMIN_API_KEY a key is generated into the file (mode 600) and reused', () => {
  const file = join(dir(), 'nested', 'admin-api-key');
  const first = loadBillingConfig({ ADMIN_API_KEY_FILE: file });
  assert.deepEqual(first.adminApiKeySource, { kind: 'file', path: file, generated: true });
  assert.match(first.adminApiKey, /^mk_admin_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(file, 'utf8').trim(), first.adminApiKey);
  const second = loadBillingConfig({ ADMIN_API_KEY_FILE: file });
  assert.equal(second.adminApiKey, first.adminApiKey);
  assert.equal(
    second.adminApiKeySource.kind === 'file' && second.adminApiKeySource.generated,
    false,
  );
});

test('ADMIN_API_KEY wins; defaults are the documented ones', () => {
  const c = loadBillingConfig({
    ADMIN_API_KEY: 'k'.repeat(20),
    ADMIN_API_KEY_FILE: join(dir(), 'unused'),
  });
  assert.equal(c.adminApiKey, 'k'.repeat(20));
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.closeGraceMs, 172_800_000);
});

test('invalid settings name the variable', () => {
  assert.throws(() => loadBillingConfig({ PORT: 'eighty', ADMIN_API_KEY: 'k'.repeat(20) }), /PORT/);
  assert.throws(() => loadBillingConfig({ ADMIN_API_KEY: 'short' }), /ADMIN_API_KEY/);
  const empty = join(dir(), 'empty');
  writeFileSync(empty, '\n');
  assert.throws(
    () => loadBillingConfig({ ADMIN_API_KEY_FILE: empty }),
    (e: unknown) => e instanceof ConfigError && /ADMIN_API_KEY_FILE/.test(e.message),
  );
});

test('TEST_CLOCK_START: an ISO instant with a zone; refused when NODE_ENV=production', () => {
  const key = { ADMIN_API_KEY: 'k'.repeat(20) };
  assert.equal(loadBillingConfig(key).testClockStartMs, null);
  assert.equal(
    loadBillingConfig({ ...key, TEST_CLOCK_START: '2026-12-03T00:00:00Z' }).testClockStartMs,
    Date.parse('2026-12-03T00:00:00Z'),
  );
  assert.equal(
    loadBillingConfig({ ...key, TEST_CLOCK_START: '2026-12-03T05:30:00.250+05:30' })
      .testClockStartMs,
    Date.parse('2026-12-03T00:00:00.250Z'),
  );
  assert.equal(
    loadBillingConfig({ ...key, NODE_ENV: 'test', TEST_CLOCK_START: '2026-12-03T00:00:00Z' })
      .testClockStartMs,
    Date.parse('2026-12-03T00:00:00Z'),
  );
  for (const bad of ['2026-12-03', '2026-12-03T00:00:00', 'tomorrow', '2026-13-03T00:00:00Z']) {
    assert.throws(
      () => loadBillingConfig({ ...key, TEST_CLOCK_START: bad }),
      (e: unknown) => e instanceof ConfigError && /TEST_CLOCK_START/.test(e.message),
      bad,
    );
  }
  assert.throws(
    () =>
      loadBillingConfig({
        ...key,
        NODE_ENV: 'production',
        TEST_CLOCK_START: '2026-12-03T00:00:00Z',
      }),
    (e: unknown) =>
      e instanceof ConfigError && /TEST_CLOCK_START.*NODE_ENV=production/.test(e.message),
  );
  // Production without a test clock is fine (with a production-grade key).
  assert.equal(
    loadBillingConfig({
      ...SELLER,
      ADMIN_API_KEY: '3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e',
      NODE_ENV: 'production',
    }).testClockStartMs,
    null,
  );
});

test('unbilled settings: a zone, a refresh interval (0: off) and a query time bound', () => {
  const key = { ADMIN_API_KEY: 'k'.repeat(20) };
  assert.deepEqual(loadBillingConfig(key).unbilled, {
    timeZone: 'UTC',
    refreshMs: 60_000,
    queryTimeoutMs: 10_000,
  });
  assert.deepEqual(
    loadBillingConfig({
      ...key,
      UNBILLED_TIME_ZONE: 'Europe/Paris',
      UNBILLED_REFRESH_MS: '0',
      UNBILLED_QUERY_TIMEOUT_MS: '500',
    }).unbilled,
    { timeZone: 'Europe/Paris', refreshMs: 0, queryTimeoutMs: 500 },
  );
  for (const [name, value] of [
    ['UNBILLED_TIME_ZONE', 'Mars/Olympus'],
    ['UNBILLED_REFRESH_MS', '-1'],
    ['UNBILLED_REFRESH_MS', 'often'],
    ['UNBILLED_QUERY_TIMEOUT_MS', '10'],
  ] as const) {
    assert.throws(
      () => loadBillingConfig({ ...key, [name]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(name),
      `${name}=${value}`,
    );
  }
});

test('NODE_ENV=production refuses a placeholder, short or low-entropy admin key, never echoing it', () => {
  const refused: [string, RegExp][] = [
    // The k8s base's placeholder, and the usual ones.
    ['PLACEHOLDER-replace-me-admin-api-key', /placeholder/],
    ['change-me-change-me-change-me-change-me', /placeholder/],
    ['CHANGEME_4f9a1c7e2b8d3f6a0c5e9b1d7f3a8c2e', /placeholder/],
    ['test-only-admin-key-0123456789', /placeholder/],
    ['k'.repeat(20), /shorter than 32/],
    ['a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT', /shorter than 32/],
    ['ab'.repeat(40), /distinct characters/],
    ['k'.repeat(60) + 'abcdefghij', /low-entropy/],
    // 20 non-ASCII characters are more than 32 UTF-16 units but fewer than 32 characters.
    ['ключ-🔑🔑🔑-ключ-ключ', /shorter than 32/],
  ];
  for (const [key, reason] of refused) {
    assert.throws(
      () => loadBillingConfig({ NODE_ENV: 'production', ADMIN_API_KEY: key }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^invalid billing-api configuration: ADMIN_API_KEY: refused with NODE_ENV=production: /.test(
          e.message,
        ) &&
        reason.test(e.message) &&
        !e.message.includes(key),
      key,
    );
    // Outside production the same key is accepted (local stack, tests).
    assert.equal(
      loadBillingConfig({ NODE_ENV: 'development', ADMIN_API_KEY: key }).adminApiKey,
      key,
    );
  }
  const file = join(dir(), 'weak');
  writeFileSync(file, 'PLACEHOLDER-replace-me-admin-api-key\n');
  assert.throws(
    () => loadBillingConfig({ NODE_ENV: 'production', ADMIN_API_KEY_FILE: file }),
    /ADMIN_API_KEY_FILE: refused with NODE_ENV=production: the key is a known placeholder/,
  );
});

test('NODE_ENV=production accepts random keys, including a generated key file and non-ASCII keys', () => {
  for (const key of [
    'mk_admin_9Yq2xV7b-Kp4Lr8Tn1Wz6Hc3Fd0Gs5Ja2Ue',
    '3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e',
    'ключ🔑Zq8Hn3Kd9Wp2Lm5Xr7Tb4Vc1Fy6Gs0Je',
  ]) {
    assert.equal(
      loadBillingConfig({ ...SELLER, NODE_ENV: 'production', ADMIN_API_KEY: key }).adminApiKey,
      key,
    );
  }
  const file = join(dir(), 'generated');
  const generated = loadBillingConfig({
    ...SELLER,
    NODE_ENV: 'production',
    ADMIN_API_KEY_FILE: file,
  });
  assert.match(generated.adminApiKey, /^mk_admin_/);
});
