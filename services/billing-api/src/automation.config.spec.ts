import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAutomationConfig, parseCidrs } from './automation.config';

const keyFile = () => join(mkdtempSync(join(tmpdir(), 'automation-')), 'webhook-secret-key');
const load = (env: Record<string, string>, production = false) =>
  loadAutomationConfig({ WEBHOOK_SECRET_KEY_FILE: keyFile(), ...env }, production);
const refusal = (env: Record<string, string>, production = false): string => {
  try {
    load(env, production);
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

test('defaults: relay off without brokers, https required only in production, schedule on', () => {
  const dev = load({});
  assert.equal(dev.events.kafka, null);
  assert.equal(dev.events.topic, 'billing.invoices.v1');
  assert.equal(dev.webhooks.requireHttps, false);
  assert.equal(dev.schedule.enabled, true);
  assert.equal(dev.budget.checkIntervalMs, 60_000);
  assert.equal(load({ BUDGET_CHECK_INTERVAL_MS: '250' }).budget.checkIntervalMs, 250);
  assert.equal(dev.webhooks.secretKey?.length, 32);
  const prod = load({ WEBHOOK_SECRET_KEY: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr' }, true);
  assert.equal(prod.webhooks.requireHttps, true);
  assert.equal(prod.webhooks.secretKey?.length, 32);
  assert.deepEqual(load({ KAFKA_BROKERS: '127.0.0.1:9092' }).events.kafka?.brokers, [
    '127.0.0.1:9092',
  ]);
});

test('the key file is generated outside production (mode 600), never in production', () => {
  const file = keyFile();
  const a = loadAutomationConfig({ WEBHOOK_SECRET_KEY_FILE: file }, false);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(readFileSync(file, 'utf8').trim().length >= 40);
  const b = loadAutomationConfig({ WEBHOOK_SECRET_KEY_FILE: file }, false);
  assert.deepEqual(a.webhooks.secretKey, b.webhooks.secretKey, 'the same key on the next start');
  assert.equal(
    loadAutomationConfig({ WEBHOOK_SECRET_KEY_FILE: keyFile() }, true).webhooks.secretKey,
    null,
  );
  assert.equal(load({ WEBHOOK_SECRET_KEY: '' }, true).webhooks.secretKey, null, 'empty is unset');
});

const refused: [name: string, env: Record<string, string>, production: boolean, message: RegExp][] =
  [
    [
      'a placeholder key in production',
      { WEBHOOK_SECRET_KEY: 'PLACEHOLDER-replace-me-webhook-secret-key' },
      true,
      /WEBHOOK_SECRET_KEY: refused with NODE_ENV=production/,
    ],
    [
      'a short key',
      { WEBHOOK_SECRET_KEY: 'short' },
      false,
      /WEBHOOK_SECRET_KEY: must be at least 16/,
    ],
    [
      'a CIDR that is not one',
      { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/33' },
      false,
      /WEBHOOK_ALLOWED_CIDRS: "127.0.0.1\/33"/,
    ],
    ['a name as a CIDR', { WEBHOOK_ALLOWED_CIDRS: 'localhost' }, false, /WEBHOOK_ALLOWED_CIDRS/],
    ['a negative timeout', { WEBHOOK_TIMEOUT_MS: '-1' }, false, /WEBHOOK_TIMEOUT_MS/],
    [
      'a non-numeric interval',
      { SCHEDULED_CLOSE_INTERVAL_MS: 'soon' },
      false,
      /SCHEDULED_CLOSE_INTERVAL_MS/,
    ],
    [
      'an infinite retry window',
      { WEBHOOK_RETRY_WINDOW_MS: 'Infinity' },
      false,
      /WEBHOOK_RETRY_WINDOW_MS/,
    ],
    [
      'month 13',
      { SCHEDULED_CLOSE_FROM: '2026-13' },
      false,
      /SCHEDULED_CLOSE_FROM: must be a month/,
    ],
    ['schedule neither on nor off', { SCHEDULED_CLOSE: 'yes' }, false, /SCHEDULED_CLOSE/],
    [
      'a budget check every 0 ms',
      { BUDGET_CHECK_INTERVAL_MS: '0' },
      false,
      /BUDGET_CHECK_INTERVAL_MS/,
    ],
    [
      'a budget check interval NaN',
      { BUDGET_CHECK_INTERVAL_MS: 'NaN' },
      false,
      /BUDGET_CHECK_INTERVAL_MS/,
    ],
    [
      'a fractional budget interval',
      { BUDGET_CHECK_INTERVAL_MS: '1.5' },
      false,
      /BUDGET_CHECK_INTERVAL_MS/,
    ],
    [
      'a budget interval over a day',
      { BUDGET_CHECK_INTERVAL_MS: '86400001' },
      false,
      /BUDGET_CHECK_INTERVAL_MS/,
    ],
    ['a bad broker', { KAFKA_BROKERS: 'kafka' }, false, /KAFKA_BROKERS/],
  ];
for (const [name, env, production, message] of refused) {
  test(`refused at boot, naming the setting: ${name}`, () => {
    assert.match(refusal(env, production), message);
  });
}

test('CIDR lists', () => {
  assert.deepEqual(parseCidrs(' 127.0.0.1/32, ::1 ,10.0.0.0/8'), [
    { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
    { address: '::1', prefix: 128, family: 'ipv6' },
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
  ]);
  assert.deepEqual(parseCidrs(''), []);
});
