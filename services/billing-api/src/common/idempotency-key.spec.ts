import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idempotencyKeyProblem, requestFingerprint } from './idempotency-key';

test('an Idempotency-Key is one value of 1 to 255 printable ASCII characters', () => {
  for (const good of ['a', 'order-42', ' x ', '~'.repeat(255), '7c3e2b1a-uuid-like-0000']) {
    assert.equal(idempotencyKeyProblem([good]), null, good);
  }
  for (const bad of ['', 'x'.repeat(256), 'a\u0000', 'tab\t', 'é', '\u007f', 'ключ', '😀']) {
    assert.match(idempotencyKeyProblem([bad]) ?? '', /printable ASCII/, JSON.stringify(bad));
  }
  assert.equal(idempotencyKeyProblem([]), 'must be given once');
  assert.equal(idempotencyKeyProblem(['a', 'a']), 'must be given once');
});

test('the fingerprint binds method, path with query and the body bytes', () => {
  const base = requestFingerprint('POST', '/v1/price-plans', Buffer.from('{"id":"a"}'));
  assert.equal(base.length, 32);
  assert.deepEqual(base, requestFingerprint('POST', '/v1/price-plans', Buffer.from('{"id":"a"}')));
  for (const other of [
    requestFingerprint('PUT', '/v1/price-plans', Buffer.from('{"id":"a"}')),
    requestFingerprint('POST', '/v1/price-plans?x=1', Buffer.from('{"id":"a"}')),
    requestFingerprint('POST', '/v1/price-plans', Buffer.from('{"id":"b"}')),
    requestFingerprint('POST', '/v1/price-plans', Buffer.from('{"id": "a"}')),
    requestFingerprint('POST', '/v1/price-plans', undefined),
  ]) {
    assert.notDeepEqual(other, base);
  }
  // The separator keeps the path and the body apart.
  assert.notDeepEqual(
    requestFingerprint('POST', '/a', Buffer.from('b')),
    requestFingerprint('POST', '/a\nb', undefined),
  );
});
