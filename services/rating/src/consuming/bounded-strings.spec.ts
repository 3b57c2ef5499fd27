import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedStrings } from './bounded-strings';

test('bounded strings: kept until the entries or the characters run out, then started over', () => {
  const byCount = new BoundedStrings<number>(3, 1_000);
  for (const n of [1, 2, 3]) byCount.set(n, `s${n}`);
  assert.equal(byCount.get(3), 's3');
  byCount.set(4, 's4');
  assert.equal(byCount.size, 1);
  assert.equal(byCount.get(1), undefined);
  assert.equal(byCount.get(4), 's4');

  const byChars = new BoundedStrings<string>(1_000, 10);
  byChars.set('a', 'x'.repeat(6));
  byChars.set('b', 'y'.repeat(6));
  assert.equal(byChars.size, 2);
  byChars.set('c', 'z');
  assert.equal(byChars.size, 1);
  assert.equal(byChars.get('c'), 'z');
  // A value of any size is kept (the bound is checked before it is added).
  const huge = 'h'.repeat(100_000);
  byChars.set('d', huge);
  assert.equal(byChars.get('d'), huge);
});
