import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { plainArray } from './pg-arrays';

describe('plainArray (PostgreSQL array literals of plain numbers)', () => {
  test('numbers as they are, nulls as NULL, nothing as {}', () => {
    assert.equal(
      plainArray(['1', '-2.50', '0.000000000001', null]),
      '{1,-2.50,0.000000000001,NULL}',
    );
    assert.equal(plainArray([]), '{}');
  });

  test('anything that would need quoting is refused, not sent', () => {
    for (const bad of ['1,2', '"1"', '1e5', '', ' 1', 'NULL', '1}', '.5']) {
      assert.throws(() => plainArray(['1', bad]), RangeError, bad);
    }
  });
});
