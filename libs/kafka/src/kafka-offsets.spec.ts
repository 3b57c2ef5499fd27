import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareOffsets, isOffset, nextOffset } from './kafka-offsets';

test('offsets are int64: arithmetic is exact past 2^53', () => {
  assert.equal(nextOffset('0'), '1');
  assert.equal(nextOffset('9007199254740992'), '9007199254740993');
  assert.equal(compareOffsets('9007199254740993', '9007199254740992'), 1);
  assert.equal(compareOffsets('5', '5'), 0);
  assert.equal(compareOffsets('10', '9'), 1);
  assert.equal(compareOffsets('9', '10'), -1);
});

test('isOffset accepts non-negative int64 decimals only', () => {
  assert.ok(isOffset('0'));
  assert.ok(isOffset('9223372036854775807'));
  assert.ok(!isOffset('9223372036854775808'));
  assert.ok(!isOffset('-1'));
  assert.ok(!isOffset('1e3'));
  assert.ok(!isOffset(''));
});
