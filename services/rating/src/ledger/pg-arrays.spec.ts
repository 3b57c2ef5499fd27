import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { plainArray, textArray } from './pg-arrays';

// The driver's own encoding of a JS array parameter (what textArray replaces).
const { prepareValue } = createRequire(__filename)('pg/lib/utils') as {
  prepareValue: (value: unknown) => unknown;
};

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

describe('textArray (PostgreSQL array literals of texts)', () => {
  test('is exactly what the driver sends for the same array', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('\\', '"', ',', '{', '}', ' ', 'N', 'a', '\u00e9') }),
    );
    fc.assert(
      fc.property(fc.array(fc.option(text, { nil: null }), { maxLength: 20 }), (values) => {
        assert.equal(textArray(values), prepareValue(values));
      }),
      { numRuns: 3_000 },
    );
    assert.equal(textArray([]), '{}');
    assert.equal(textArray(['a"b', null, 'c\\d', 'NULL']), '{"a\\"b",NULL,"c\\\\d","NULL"}');
  });
});
