import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadBillingConfig } from './config';

const dir = () => mkdtempSync(join(tmpdir(), 'billing-config-'));

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
  // Production without a test clock is fine.
  assert.equal(loadBillingConfig({ ...key, NODE_ENV: 'production' }).testClockStartMs, null);
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
