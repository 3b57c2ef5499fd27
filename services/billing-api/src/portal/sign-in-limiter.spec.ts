import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientKeyOf, SignInLimiter } from './sign-in-limiter';

test('client keys: IPv4 as it is, mapped IPv4 unmapped, IPv6 by its /64', () => {
  assert.equal(clientKeyOf('203.0.113.5'), '203.0.113.5');
  assert.equal(clientKeyOf('::ffff:203.0.113.5'), '203.0.113.5');
  assert.equal(clientKeyOf('::FFFF:203.0.113.5'), '203.0.113.5');
  assert.equal(clientKeyOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKeyOf('2001:0DB8:0000:0000:ffff:1:2:3'), '2001:db8:0:0::/64');
  assert.equal(clientKeyOf('2001:db8:0:1::1'), '2001:db8:0:1::/64');
  assert.equal(clientKeyOf('::1'), '0:0:0:0::/64');
  assert.equal(clientKeyOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKeyOf('::ffff:999.1.1.1'), '::ffff:999.1.1.1');
  for (const odd of ['unknown', '', 'é', 'x'.repeat(1000), '1.2.3.4.5']) {
    assert.equal(clientKeyOf(odd), odd);
  }
});

test('client keys: every spelling of an address is one key; other /64s are others', () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, upper) => {
      const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
      const short = groups.map((g) => g.toString(16)).join(':');
      const spelled = upper ? full.toUpperCase() : full;
      assert.equal(clientKeyOf(spelled), clientKeyOf(short));
      const other = [...groups];
      other[3] = ((other[3] ?? 0) + 1) & 0xffff;
      assert.notEqual(clientKeyOf(other.map((g) => g.toString(16)).join(':')), clientKeyOf(short));
      const host = [...groups];
      host[7] = ((host[7] ?? 0) + 1) & 0xffff;
      assert.equal(clientKeyOf(host.map((g) => g.toString(16)).join(':')), clientKeyOf(short));
    }),
  );
  fc.assert(
    fc.property(fc.ipV4(), (v4) => assert.equal(clientKeyOf(`::ffff:${v4}`), clientKeyOf(v4))),
  );
});

test('the limiter refuses past the limit until the window ends', () => {
  const limiter = new SignInLimiter(2, 1000, 3);
  limiter.recordFailure('a', 0);
  assert.equal(limiter.retryAfterMs('a', 10), 0);
  limiter.recordFailure('a', 10);
  assert.equal(limiter.retryAfterMs('a', 100), 900);
  assert.equal(limiter.retryAfterMs('b', 100), 0);
  assert.equal(limiter.retryAfterMs('a', 1000), 0);
  for (const c of ['b', 'c', 'd', 'e']) limiter.recordFailure(c, 500);
  assert.ok(limiter.size <= 3);
});
