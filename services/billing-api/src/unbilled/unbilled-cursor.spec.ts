import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCursor, encodeCursor } from './unbilled-cursor';

test('any tenant id the ledger can hold survives a cursor round trip', () => {
  fc.assert(
    fc.property(
      fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 200 })
        .filter((s) => !s.includes('\0')),
      (id) => {
        const cursor = encodeCursor(id);
        assert.match(cursor, /^[A-Za-z0-9_-]+$/);
        assert.equal(decodeCursor(cursor), id);
      },
    ),
  );
  for (const id of [
    'Acme',
    'acme',
    '<script>&"\'',
    '👻',
    'a\u0001b',
    '\u0085\u2028',
    'x'.repeat(1500),
  ]) {
    assert.equal(decodeCursor(encodeCursor(id)), id);
  }
});

test('cursors no page could have returned are refused', () => {
  for (const bad of [
    '',
    'a', // 6 bits: no whole byte
    'AB', // trailing bits set: not canonical
    'YQ==', // padding is not base64url
    'a+b/',
    'a b',
    encodeCursor('a\u0000b'), // NUL
    Buffer.from([0xff, 0xfe]).toString('base64url'), // not UTF-8
    Buffer.from([0xed, 0xa0, 0x80]).toString('base64url'), // a surrogate in UTF-8 form
    'A'.repeat(2049),
  ]) {
    assert.equal(decodeCursor(bad), null, bad);
  }
});
