import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TenantAffinity, tenantPartition } from './tenant-affinity';

/** Tenant ids of every shape: ASCII, non-ASCII, NUL, lone surrogates, long. */
const tenantIds = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', 'é', '租', 'a'), maxLength: 16 }),
  fc.constant('x'.repeat(100_000)),
);

describe('TenantAffinity: which tenant months an instance prices at once', () => {
  test('one instance (every partition, or no assignment yet) owns every tenant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), tenantIds, (partitions, tenant) => {
        const fresh = new TenantAffinity(partitions);
        assert.equal(fresh.owns(tenant), true);
        const all = new TenantAffinity(partitions);
        all.assigned([...Array(partitions).keys()].reverse());
        assert.equal(all.owns(tenant), true);
      }),
    );
  });

  test('instances splitting the partitions own each tenant exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 48 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { maxLength: 48 }),
        fc.array(tenantIds, { minLength: 1, maxLength: 20 }),
        (partitions, instances, picks, tenants) => {
          const shares: number[][] = Array.from({ length: instances }, () => []);
          for (let p = 0; p < partitions; p++) shares[(picks[p] ?? p) % instances]!.push(p);
          const affinities = shares.map((share) => {
            const a = new TenantAffinity(partitions);
            a.assigned(share);
            return a;
          });
          for (const tenant of tenants) {
            const owners = affinities.filter((a) => a.owns(tenant)).length;
            assert.equal(owners, 1, JSON.stringify({ tenant: tenant.slice(0, 40), shares }));
          }
        },
      ),
    );
  });

  test('an empty assignment owns nothing; partitions out of range are ignored', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 32 }), tenantIds, (partitions, tenant) => {
        const none = new TenantAffinity(partitions);
        none.assigned([]);
        assert.equal(none.owns(tenant), false);
        const stray = new TenantAffinity(partitions);
        stray.assigned([-1, partitions, partitions + 7, Number.NaN, 1.5]);
        assert.equal(stray.owns(tenant), false);
        // Duplicates do not make a partial assignment look whole.
        const twice = new TenantAffinity(partitions);
        twice.assigned(Array(partitions).fill(0));
        assert.equal(twice.owns(tenant), tenantPartition(tenant, partitions) === 0);
      }),
    );
  });

  test("the topic's own partition count, when the assignment gives it, wins over the configured one", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 32 }),
        tenantIds,
        (configured, actual, tenant) => {
          // One instance assigned every partition of the topic owns every tenant, whatever the
          // settings say the topic has.
          const one = new TenantAffinity(configured);
          one.assigned([...Array(actual).keys()], actual);
          assert.equal(one.owns(tenant), true);
          // Two instances splitting the topic own each tenant once, by the topic's count.
          const [a, b] = [new TenantAffinity(configured), new TenantAffinity(configured)];
          const all = [...Array(actual).keys()];
          a.assigned(
            all.filter((p) => p % 2 === 0),
            actual,
          );
          b.assigned(
            all.filter((p) => p % 2 === 1),
            actual,
          );
          assert.equal(Number(a.owns(tenant)) + Number(b.owns(tenant)), 1);
        },
      ),
    );
    for (const bad of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, undefined]) {
      const a = new TenantAffinity(4);
      a.assigned([0, 1, 2, 3], bad);
      assert.equal(a.owns('t'), true, `${String(bad)}: the configured 4 stay`);
    }
  });

  test('the partition is stable and in range for every id', () => {
    fc.assert(
      fc.property(tenantIds, fc.integer({ min: 1, max: 10_000 }), (tenant, partitions) => {
        const p = tenantPartition(tenant, partitions);
        assert.ok(Number.isInteger(p) && p >= 0 && p < partitions, String(p));
        assert.equal(tenantPartition(tenant, partitions), p);
      }),
    );
  });

  test('ids spread over the partitions (no partition owns most tenants)', () => {
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 12_000; i++) counts[tenantPartition(`tenant-${i}`, 12)]! += 1;
    for (const n of counts) assert.ok(n > 700 && n < 1_300, counts.join(','));
  });

  test('a partition count that is not a positive integer is refused', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assert.throws(() => new TenantAffinity(bad), RangeError, String(bad));
    }
  });
});
