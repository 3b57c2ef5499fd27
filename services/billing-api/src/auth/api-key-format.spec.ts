import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueKey, parseKey, sameSecret, sha256 } from './api-key-format';

test('an issued key parses back to its id and its secret matches the stored hash', () => {
  const issued = issueKey();
  assert.match(issued.key, /^mk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const parsed = parseKey(issued.key);
  assert.equal(parsed?.id, issued.id);
  assert.ok(sameSecret(parsed?.secret ?? '', issued.secretSha256));
  assert.ok(!sameSecret(`${parsed?.secret ?? ''}x`, issued.secretSha256));
  assert.notEqual(issueKey().key, issued.key);
});

test('malformed keys do not parse', () => {
  for (const bad of [
    '',
    'mk_',
    'mk_0123456789abcdef_short',
    'xx_0123456789abcdef_' + 'a'.repeat(43),
  ]) {
    assert.equal(parseKey(bad), null, bad);
  }
  assert.equal(sha256('a').length, 32);
});
