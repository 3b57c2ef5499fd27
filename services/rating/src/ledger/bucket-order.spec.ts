import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucketKey } from '../domain';
import { sortedByBucketKey } from './batch-ledger.store';

// The order the batch and the pricing stage write buckets in (two batches of one resource after a
// repartition lock them in one order): by bucketKey, whatever the ids hold (a NUL, non-ASCII,
// one a prefix of another) and however many digits the bucket's start has; equal keys kept in
// the order given.

test('sortedByBucketKey sorts by bucketKey, keeping equal keys in the order given', () => {
  const id = fc.oneof(
    fc.constantFrom('a', 'ab', 'a\u0000', 'b', 'é', ''),
    fc.string({ unit: 'binary', maxLength: 4 }),
  );
  const start = fc.oneof(
    fc.constantFrom(0, 999, 1000, 3_600_000, 1_764_547_200_000),
    fc.nat({ max: 2 ** 45 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.record({ tenantId: id, resourceId: id, bucketStartMs: start }), {
        maxLength: 40,
      }),
      (buckets) => {
        const tagged = buckets.map((b, n) => ({ ...b, n }));
        const expected = [...tagged].sort((a, b) => {
          const ka = bucketKey(a);
          const kb = bucketKey(b);
          return ka < kb ? -1 : ka > kb ? 1 : a.n - b.n;
        });
        assert.deepEqual(sortedByBucketKey(tagged), expected);
      },
    ),
    { numRuns: 500 },
  );
});
