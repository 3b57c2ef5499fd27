import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfTokenOf, matchesSha256, newToken, portalCookieOf, tokenSha256 } from './portal-cookie';
import { SignInLimiter } from './sign-in-limiter';

const token = 'A'.repeat(43);

test('the portal cookie in a Cookie header: one, none, or refused', () => {
  assert.deepEqual(portalCookieOf(undefined), { kind: 'none' });
  assert.deepEqual(portalCookieOf('a=b; c=d'), { kind: 'none' });
  assert.deepEqual(portalCookieOf(`metering_portal=${token}`), { kind: 'one', token });
  assert.deepEqual(portalCookieOf(`a=b;metering_portal=${token} ; c=d`), { kind: 'one', token });
  assert.deepEqual(portalCookieOf(`metering_portal="${token}"`), { kind: 'one', token });
  assert.deepEqual(portalCookieOf(['a=b', `metering_portal=${token}`]), { kind: 'one', token });
  assert.deepEqual(portalCookieOf(`xmetering_portal=${token}`), { kind: 'none' });
  for (const header of [
    `metering_portal=${token}; metering_portal=${token}`,
    `metering_portal=${token}x`,
    'metering_portal=',
    'metering_portal=a b',
    `metering_portal=${'é'.repeat(43)}`,
    `metering_portal=${token}; ${'x=y; '.repeat(5000)}`,
  ]) {
    assert.equal(portalCookieOf(header).kind, 'invalid', header.slice(0, 80));
  }
});

test('tokens: random, checked against their SHA-256; CSRF tokens bound to key and session', () => {
  const a = newToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newToken(), a);
  assert.ok(matchesSha256(a, tokenSha256(a)));
  assert.ok(!matchesSha256(`${a}x`, tokenSha256(a)));
  const key = Buffer.alloc(32, 1);
  assert.equal(csrfTokenOf(key, a), csrfTokenOf(key, a));
  assert.notEqual(csrfTokenOf(key, a), csrfTokenOf(key, newToken()));
  assert.notEqual(csrfTokenOf(key, a), csrfTokenOf(Buffer.alloc(32, 2), a));
  assert.match(csrfTokenOf(key, a), /^[A-Za-z0-9_-]{43}$/);
});

test('the sign-in limiter: failures per address per window, bounded memory', () => {
  const limiter = new SignInLimiter(3, 60_000, 100);
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.retryAfterMs('a', 1_000), 0);
    limiter.recordFailure('a', 1_000 + i);
  }
  assert.equal(limiter.retryAfterMs('a', 2_000), 59_000);
  assert.equal(limiter.retryAfterMs('b', 2_000), 0, 'another address is not affected');
  assert.equal(limiter.retryAfterMs('a', 61_000), 0, 'the window ended');
  limiter.recordFailure('a', 61_000);
  assert.equal(limiter.retryAfterMs('a', 61_001), 0, 'a new window starts at one failure');
  for (let i = 0; i < 1_000; i++) limiter.recordFailure(`client-${i}`, 70_000 + i);
  assert.ok(limiter.size <= 100, `${limiter.size} addresses kept`);
});
