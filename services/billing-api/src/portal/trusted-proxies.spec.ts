import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrustedProxies } from './trusted-proxies';

test('trusted proxies: none by default, hop counts, address lists', () => {
  for (const off of [undefined, '', '  ', 'false', '0'])
    assert.equal(parseTrustedProxies(off), false);
  assert.equal(parseTrustedProxies('1'), 1);
  assert.equal(parseTrustedProxies('10'), 10);
  assert.deepEqual(parseTrustedProxies('10.0.0.0/8, 192.168.1.7,::1,fd00::/8,loopback'), [
    '10.0.0.0/8',
    '192.168.1.7',
    '::1',
    'fd00::/8',
    'loopback',
  ]);
  assert.deepEqual(parseTrustedProxies('0.0.0.0/0'), ['0.0.0.0/0']);
});

test('trusted proxies: every other shape is refused with the entry named', () => {
  const cases: [string, RegExp][] = [
    ['true', /X-Forwarded-For a client writes/],
    ['11', /at most 10 hops/],
    ['99999999999999999999', /at most 10 hops/],
    ['-1', /"-1" is not an IP address/],
    ['1.5', /"1.5" is not an IP address/],
    ['Infinity', /"Infinity" is not/],
    ['NaN', /"NaN" is not/],
    ['10.0.0.0/33', /"10.0.0.0\/33"/],
    ['::/129', /"::\/129"/],
    ['10.0.0.0/', /"10.0.0.0\/"/],
    ['10.0.0.0/-1', /"10.0.0.0\/-1"/],
    ['10.0.0.0/8/8', /"10.0.0.0\/8\/8"/],
    ['256.1.1.1', /"256.1.1.1"/],
    ['10.0.0.1,,10.0.0.2', /"" is not/],
    ['10.0.0.1\u0000', /"10.0.0.1\\u0000"/],
    ['ingress.local', /"ingress.local"/],
    ['Loopback', /"Loopback"/],
    ['١٢٧.0.0.1', /"١٢٧.0.0.1"/],
    [`${'1.1.1.1,'.repeat(70)}1.1.1.1`, /at most 64 entries/],
    ['x'.repeat(10_000), new RegExp(`"${'x'.repeat(64)}" is not`)],
  ];
  for (const [raw, message] of cases) {
    assert.throws(() => parseTrustedProxies(raw), message, JSON.stringify(raw.slice(0, 40)));
  }
});
