import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MIN_SECRET_LENGTH, PLACEHOLDER_MARKERS, secretWeakness } from './secret-strength';

test('placeholders are refused whatever their case and punctuation', () => {
  for (const value of [
    'PLACEHOLDER-replace-me-admin-api-key',
    'change-me',
    'CHANGE_ME_0f3a9c2e7b1d4f6a8c0e2b4d6f8a1c3e5',
    'Replace.Me.9f8e7d6c5b4a39281706f5e4d3c2b1a0',
    'my-Secret-k9f8e7d6c5b4a39281706f5e4d3c2b1a0',
    'passw0rd'.toUpperCase() + 'password' + 'a1b2c3d4e5f6g7h8i9j0',
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  ]) {
    assert.match(secretWeakness(value) ?? 'accepted', /placeholder/, value);
  }
});

test('short values are refused, counting code points rather than UTF-16 units', () => {
  assert.match(secretWeakness('') ?? 'accepted', /shorter than 32/);
  assert.match(secretWeakness('a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d') ?? 'accepted', /\(31\)/);
  // 16 astral characters are 32 UTF-16 units but 16 characters.
  const astral = Array.from({ length: 16 }, (_, i) => String.fromCodePoint(0x1f600 + i)).join('');
  assert.equal(astral.length, 32);
  assert.match(secretWeakness(astral) ?? 'accepted', /\(16\)/);
});

test('few distinct characters or low entropy are refused', () => {
  assert.match(secretWeakness('a'.repeat(64)) ?? 'accepted', /distinct/);
  assert.match(secretWeakness('abab'.repeat(16)) ?? 'accepted', /distinct/);
  assert.match(secretWeakness('abcde'.repeat(8)) ?? 'accepted', /distinct characters \(5\)/);
  // Eleven distinct characters, but one dominates: about 1.1 bits per character.
  assert.match(secretWeakness('a'.repeat(60) + 'bcdefghijk') ?? 'accepted', /low-entropy/);
});

test('random keys of every usual shape pass, including non-ASCII ones', () => {
  // 32 hex digits are the weakest shape accepted; 20,000 of them would catch thresholds set
  // near their tail (10 distinct / 3.0 bits refused about 3 of them).
  for (let i = 0; i < 20_000; i += 1)
    assert.equal(secretWeakness(randomBytes(16).toString('hex')), null);
  for (let i = 0; i < 200; i += 1) {
    assert.equal(secretWeakness(randomBytes(16).toString('hex')), null);
    assert.equal(secretWeakness(randomBytes(32).toString('base64')), null);
    assert.equal(secretWeakness(randomBytes(24).toString('base64url')), null);
  }
  const unicode = Array.from(randomBytes(MIN_SECRET_LENGTH), (b) =>
    String.fromCodePoint(0x3041 + (b % 80)),
  ).join('');
  assert.equal(secretWeakness(unicode), null);
});

test('messages never contain the value', () => {
  const values = ['PLACEHOLDER-zz', 'short-one', 'q'.repeat(40), 'q'.repeat(60) + 'rstuvwxyz1'];
  for (const value of values) {
    const message = secretWeakness(value);
    assert.ok(message !== null);
    assert.ok(!message.includes(value), message);
  }
});

test('huge values are judged in linear time', () => {
  // Hex, not base64: 4 MB of random base64 spells a marker word by chance (`dummy` in about one
  // run of eight), which is the marker rule working, not a slow one. No marker is all hex digits.
  const huge = randomBytes(3_000_000).toString('hex');
  assert.ok(PLACEHOLDER_MARKERS.every((m) => !/^[0-9a-f]+$/.test(m)));
  assert.equal(secretWeakness(huge), null);
  // The same size with a marker at its very end is refused, in the same linear pass.
  assert.match(secretWeakness(`${huge}dummy`) ?? '', /placeholder/);
});
