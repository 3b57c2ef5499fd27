import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type MeteredSample, instanceKey } from './metered-sample';
import { type RatedInterval, foldBatch } from './rate-batch';
import { type BucketUsage, addBuckets, bucketKey } from './usage-bucket';
import { T0, sampleAt } from './test-samples';

const rules = { maxGapMs: 300_000 };
const UTC = (): string => 'UTC';

function fold(samples: MeteredSample[]): {
  buckets: ReadonlyMap<string, BucketUsage>;
  rated: { rated: RatedInterval; key: string; usage: BucketUsage }[];
} {
  const rated: { rated: RatedInterval; key: string; usage: BucketUsage }[] = [];
  const result = foldBatch(samples, new Map(), rules, UTC, (r, key) =>
    // A copy of the segment's usage as the fold handed it over.
    rated.push({ rated: r, key, usage: { ...r.segments[0]!.usage } }),
  );
  return { buckets: result.buckets, rated };
}

describe('foldBatch', () => {
  test('a bucket sums its samples, and the segments handed on stay as they were rated', () => {
    // Three samples of one instance inside one hour, and one of another instance of the resource.
    const samples = [
      sampleAt(10, 1_000_000_000n),
      sampleAt(20, 3_000_000_000n),
      sampleAt(30, 6_000_000_000n),
      sampleAt(25, 500_000_000n, { instanceId: 'i2' }),
    ];
    const { buckets, rated } = fold(samples);
    assert.equal(rated.length, 4);
    for (const r of rated) assert.deepEqual(r.rated.segments[0]!.usage, r.usage);
    assert.deepEqual(
      rated.map((r) => r.key),
      samples.map((s) => instanceKey(s)),
    );
    assert.equal(buckets.size, 1);
    const expected = rated.map((r) => r.usage).reduce((a, b) => addBuckets(a, b));
    assert.deepEqual(buckets.get(bucketKey(expected)), expected);
    // The first usage's object is not the sum's: the sum is the batch's own.
    assert.notEqual(buckets.get(bucketKey(expected)), rated[0]!.rated.segments[0]!.usage);
  });

  test('buckets of other tenants, resources and hours stay apart, in the order first rated', () => {
    const samples = [
      sampleAt(10, 1n, { resourceId: 'r2' }),
      sampleAt(10, 1n, { tenantId: 'other' }),
      sampleAt(10, 1n),
      sampleAt(3_610, 2n), // the next hour
      sampleAt(20, 2n, { resourceId: 'r2' }),
    ];
    const { buckets } = fold(samples);
    assert.deepEqual(
      [...buckets.values()].map((b) => [b.tenantId, b.resourceId, (b.bucketStartMs - T0) / 1000]),
      [
        ['acme', 'r2', 0],
        ['other', 'r1', 0],
        ['acme', 'r1', 0],
        ['acme', 'r1', 3_600],
      ],
    );
    assert.ok(buckets.has(bucketKey({ tenantId: 'acme', resourceId: 'r2', bucketStartMs: T0 })));
  });

  test('ids whose joined key is one (a NUL in them, which the contract refuses) are summed as one', () => {
    const samples = [
      sampleAt(10, 1_000n, { tenantId: 'a\u0000b', resourceId: 'c' }),
      sampleAt(10, 2_000n, { tenantId: 'a', resourceId: 'b\u0000c' }),
    ];
    const { buckets, rated } = fold(samples);
    assert.equal(buckets.size, 1);
    assert.equal(
      [...buckets.values()][0]!.cpuUsage,
      rated[0]!.usage.cpuUsage + rated[1]!.usage.cpuUsage,
    );
  });
});
