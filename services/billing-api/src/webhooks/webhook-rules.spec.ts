import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextAttemptAt, retryDelayMs, shouldDisable } from './domain/retry-schedule';
import { blockedAddressReason, checkWebhookUrl, type WebhookUrlPolicy } from './webhook-url.policy';

const production: WebhookUrlPolicy = { requireHttps: true, allowedCidrs: [] };
const development: WebhookUrlPolicy = { requireHttps: false, allowedCidrs: [] };
const loopbackAllowed: WebhookUrlPolicy = {
  requireHttps: false,
  allowedCidrs: [{ address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
};

const urls: [name: string, input: unknown, policy: WebhookUrlPolicy, expected: RegExp | string][] =
  [
    [
      'https with a name',
      'https://erp.example.com/hooks?x=1',
      production,
      'https://erp.example.com/hooks?x=1',
    ],
    ['public IPv4', 'https://8.8.8.8/h', production, 'https://8.8.8.8/h'],
    ['http in production', 'http://erp.example.com/h', production, /must use https/],
    ['http in development', 'http://erp.example.com/h', development, 'http://erp.example.com/h'],
    ['NUL', 'https://erp.example.com/\u0000', production, /control characters/],
    ['space', 'https://erp.example.com/a b', production, /spaces/],
    ['huge', `https://erp.example.com/${'a'.repeat(3000)}`, production, /at most 2048 bytes/],
    ['empty', '', production, /must not be empty/],
    ['number', 42, production, /must be a string, got number/],
    ['null', null, production, /must be a string, got null/],
    ['array', ['https://a.example'], production, /must be a string, got an array/],
    ['relative', '/hooks', production, /absolute URL/],
    ['ftp', 'ftp://files.example.com/x', production, /scheme ftp is not allowed/],
    ['file', 'file:///etc/passwd', production, /scheme file is not allowed/],
    ['javascript', 'javascript:alert(1)', production, /scheme javascript is not allowed/],
    ['gopher', 'gopher://x.example:70/_', development, /scheme gopher is not allowed/],
    ['credentials', 'https://u:p@erp.example.com/', production, /credentials/],
    ['fragment', 'https://erp.example.com/#x', production, /fragment/],
    ['non-ASCII host', 'https://bücher.example/h', production, /must be ASCII/],
    [
      'punycode host',
      'https://xn--bcher-kva.example/h',
      production,
      'https://xn--bcher-kva.example/h',
    ],
    ['loopback', 'https://127.0.0.1/h', production, /loopback/],
    ['loopback short form', 'https://127.1/h', production, /loopback/],
    ['loopback as a number', 'https://2130706433/h', production, /loopback/],
    ['loopback in hex', 'https://0x7f000001/h', production, /loopback/],
    ['localhost', 'https://localhost/h', production, /localhost is loopback/],
    ['10/8', 'https://10.1.2.3/h', production, /private/],
    ['172.16/12', 'https://172.31.255.255/h', production, /private/],
    ['192.168/16', 'https://192.168.0.1/h', production, /private/],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest', production, /link-local/],
    ['CGNAT', 'https://100.64.0.1/', production, /shared/],
    ['0.0.0.0', 'https://0.0.0.0/', production, /this network/],
    ['IPv6 loopback', 'https://[::1]/h', production, /loopback/],
    ['IPv6 unique local', 'https://[fd00::1]/h', production, /unique local/],
    ['IPv6 link-local', 'https://[fe80::1]/h', production, /link-local/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/h', production, /IPv4-mapped/],
    [
      'loopback allowed by the list',
      'http://127.0.0.1:8123/h',
      loopbackAllowed,
      'http://127.0.0.1:8123/h',
    ],
    ['other private not allowed by the list', 'http://10.0.0.1/h', loopbackAllowed, /private/],
  ];

for (const [name, input, policy, expected] of urls) {
  test(`webhook URL: ${name}`, () => {
    const result = checkWebhookUrl(input, policy);
    if (typeof expected === 'string') {
      assert.deepEqual(result, { ok: true, url: expected });
    } else {
      assert.ok(!result.ok, `${name} accepted`);
      assert.match(result.message, expected);
    }
  });
}

test('resolved addresses are checked with the same ranges', () => {
  assert.match(blockedAddressReason('127.0.0.53', []) ?? '', /loopback/);
  assert.equal(blockedAddressReason('93.184.216.34', []), null);
  assert.equal(blockedAddressReason('2606:4700::1111', []), null);
  assert.match(blockedAddressReason('not-an-ip', []) ?? '', /not an IP/);
});

const policy = { baseMs: 1_000, maxMs: 60_000, windowMs: 86_400_000 };

test('retry delays grow exponentially with jitter and stay within [full/2, full]', () => {
  assert.equal(retryDelayMs(1, policy, 0), 500);
  assert.equal(retryDelayMs(1, policy, 0.999999), 1_000);
  assert.equal(retryDelayMs(4, policy, 0), 4_000);
  assert.equal(retryDelayMs(30, policy, 0), 30_000, 'capped at max');
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.double({ min: 0, max: 0.9999, noNaN: true }),
      (n, r) => {
        const full = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 40));
        const d = retryDelayMs(n, policy, r);
        return Number.isFinite(d) && d >= full / 2 - 1 && d <= full + 1;
      },
    ),
  );
});

test('retries stop after the window: the delivery is failed', () => {
  const start = 0;
  assert.equal(nextAttemptAt(1, start, 1_000, policy, 0), 1_500);
  assert.equal(nextAttemptAt(30, start, 86_400_000 - 10_000, policy, 0), null);
});

test('an endpoint is disabled after failing long enough, often enough', () => {
  const p = { afterMs: 3_600_000, afterFailures: 5 };
  assert.equal(shouldDisable(5, 0, 3_600_000, p), true);
  assert.equal(shouldDisable(4, 0, 7_200_000, p), false);
  assert.equal(shouldDisable(50, 0, 3_599_999, p), false);
});
