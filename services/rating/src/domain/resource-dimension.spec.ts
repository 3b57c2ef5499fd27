import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type KnownResource,
  type MeteredSample,
  afterBatch,
  resourceKey,
  resourceSightings as sightingsOf,
} from './index';
import { T0, sampleAt } from './test-samples';

const STEP = 300_000;
const none = (): KnownResource | undefined => undefined;

/** The rows to write (what the processor upserts). */
function resourceSightings(
  samples: readonly MeteredSample[],
  known: (key: string) => KnownResource | undefined,
  step: number,
) {
  return sightingsOf(samples, known, step).rows;
}

/** Commits a batch into the cache the way the processor does after its transaction. */
function commit(known: Map<string, KnownResource>, samples: readonly MeteredSample[]): void {
  const { seen } = sightingsOf(samples, (k) => known.get(k), STEP);
  for (const [key, sight] of seen) {
    const next = afterBatch(known.get(key), sight);
    if (next !== undefined) known.set(key, next);
  }
}

function knownFrom(samples: readonly MeteredSample[]): Map<string, KnownResource> {
  const known = new Map<string, KnownResource>();
  commit(known, samples);
  return known;
}

describe('resourceSightings', () => {
  test('a new resource: one row per resource, first and last seen over the batch, latest name', () => {
    const rows = resourceSightings(
      [
        sampleAt(20, 0n, { name: 'web-2', image: 'local/busybox:1' }),
        sampleAt(10, 0n, { name: 'web-1' }),
        sampleAt(30, 0n, {
          resourceId: 'r0',
          resourceKind: 'vm',
          name: 'Ωμέγα 株式会社',
          flavour: 'm1.small',
        }),
      ],
      none,
      STEP,
    );
    assert.deepEqual(rows, [
      {
        tenantId: 'acme',
        resourceId: 'r0',
        kind: 'vm',
        name: 'Ωμέγα 株式会社',
        image: null,
        flavour: 'm1.small',
        host: 'node-1',
        firstSeenMs: T0 + 30_000,
        lastSeenMs: T0 + 30_000,
        observedMs: T0 + 30_000,
      },
      {
        tenantId: 'acme',
        resourceId: 'r1',
        kind: 'container',
        name: 'web-2',
        image: 'local/busybox:1',
        flavour: null,
        host: 'node-1',
        firstSeenMs: T0 + 10_000,
        lastSeenMs: T0 + 20_000,
        observedMs: T0 + 20_000,
      },
    ]);
  });

  test('a known resource, unchanged and seen within the step: nothing to write', () => {
    const known = knownFrom([sampleAt(0, 0n, { name: 'web' })]);
    const again = [sampleAt(10, 0n, { name: 'web' }), sampleAt(299, 0n, { name: 'web' })];
    assert.deepEqual(
      resourceSightings(again, (k) => known.get(k), STEP),
      [],
    );
  });

  test('a rename, a new host, a new image: written; an older sample with another name: not', () => {
    const known = knownFrom([sampleAt(100, 0n, { name: 'web' })]);
    const at = (k: string) => known.get(k);
    assert.equal(resourceSightings([sampleAt(110, 0n, { name: 'api' })], at, STEP)[0]?.name, 'api');
    assert.equal(
      resourceSightings([sampleAt(110, 0n, { name: 'web', host: 'node-2' })], at, STEP).length,
      1,
    );
    assert.equal(
      resourceSightings([sampleAt(110, 0n, { name: 'web', image: 'img:2' })], at, STEP).length,
      1,
    );
    assert.deepEqual(
      resourceSightings([sampleAt(90, 0n, { name: 'old' })], at, STEP).length,
      1,
      'first seen moves back',
    );
    commit(known, [sampleAt(90, 0n, { name: 'old' })]);
    assert.equal(
      known.get(resourceKey({ tenantId: 'acme', resourceId: 'r1' }))?.description.name,
      'web',
      'the newer name stays',
    );
    assert.equal(
      known.get(resourceKey({ tenantId: 'acme', resourceId: 'r1' }))?.firstSeenMs,
      T0 + 90_000,
    );
    assert.deepEqual(
      resourceSightings([sampleAt(95, 0n, { name: 'old' })], at, STEP),
      [],
      'inside the seen range and older: ignored',
    );
  });

  test('late data is no rename: an unwritten newer sight keeps an older other name out', () => {
    const known = knownFrom([sampleAt(0, 0n, { name: 'web' })]);
    commit(known, [sampleAt(200, 0n, { name: 'web' })]); // nothing written, latest moves to 200
    assert.deepEqual(
      resourceSightings([sampleAt(100, 0n, { name: 'api' })], (k) => known.get(k), STEP),
      [],
    );
    assert.equal(
      resourceSightings([sampleAt(201, 0n, { name: 'api' })], (k) => known.get(k), STEP).length,
      1,
    );
  });

  test('late data that moves first seen back writes the known name, not its own', () => {
    // The property test's counterexample (CI, seed -262625579): the row a late batch must write
    // for first seen carried the late sample's name at an observed time the ledger had not moved
    // past, because the newer sample with the known name wrote no row.
    for (const lateAt of [10, 150]) {
      const known = knownFrom([sampleAt(10, 0n, { name: 'api' })]);
      commit(known, [sampleAt(200, 0n, { name: 'api' })]); // nothing written, latest moves to 200
      const rows = resourceSightings(
        [sampleAt(lateAt, 0n, { name: 'web' }), sampleAt(0, 0n, { name: 'web' })],
        (k) => known.get(k),
        STEP,
      );
      assert.equal(rows.length, 1, 'first seen moves back');
      assert.equal(rows[0]!.firstSeenMs, T0);
      assert.equal(rows[0]!.name, 'api', `a late sample at ${lateAt} s keeps the newer name`);
      assert.equal(rows[0]!.observedMs, T0 + 10_000, 'at the observed time the ledger holds');
      commit(known, [sampleAt(lateAt, 0n, { name: 'web' }), sampleAt(0, 0n, { name: 'web' })]);
      const entry = known.get(resourceKey({ tenantId: 'acme', resourceId: 'r1' }))!;
      assert.equal(entry.description.name, 'api');
      assert.equal(entry.firstSeenMs, T0);
      assert.equal(entry.latestMs, T0 + 200_000);
    }
  });

  test('last seen is refreshed once it lags by the step', () => {
    const known = knownFrom([sampleAt(0, 0n, { name: 'web' })]);
    const rows = resourceSightings([sampleAt(300, 0n, { name: 'web' })], (k) => known.get(k), STEP);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.lastSeenMs, T0 + 300_000);
  });

  test('a relabelled resource (another tenant) is another row', () => {
    const rows = resourceSightings(
      [sampleAt(0, 0n, { tenantId: 'a' }), sampleAt(10, 0n, { tenantId: 'b' })],
      none,
      STEP,
    );
    assert.deepEqual(
      rows.map((r) => r.tenantId),
      ['a', 'b'],
    );
  });

  test('property: whatever the order and batching, the cache ends as one pass over all samples', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seconds: fc.integer({ min: 0, max: 3_600 }),
            resourceId: fc.constantFrom('r1', 'r2', 'r3'),
            name: fc.constantFrom('web', 'api', 'Ωμέγα 株式会社', ''),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 10 }),
        (specs, batchSize) => {
          const batches = [];
          for (let i = 0; i < specs.length; i += batchSize) {
            batches.push(specs.slice(i, i + batchSize));
          }
          endsAsOnePass(batches);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: the same, for late data and ties (one resource, seconds apart, two names)', () => {
    // The broad property found a late batch winning with its own name once in ~10,000 runs; here
    // a resource's samples are seconds apart in batches of one to three, so late and tied
    // sightings are the rule (the old fault: about 7 runs in 1,000, so 2,000 runs find it).
    const sample = fc.record({
      seconds: fc.integer({ min: 0, max: 20 }),
      resourceId: fc.constant('r1'),
      name: fc.constantFrom('web', 'api'),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(sample, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        (batches) => endsAsOnePass(batches),
      ),
      { numRuns: 2_000 },
    );
  });
});

/**
 * Rates the batches through the cache, and checks it ends where one pass over all samples would:
 * first and latest seen, last seen within the step, the name of a sample at the latest time.
 */
function endsAsOnePass(
  batches: readonly (readonly { seconds: number; resourceId: string; name: string }[])[],
): void {
  const known = new Map<string, KnownResource>();
  const samples: MeteredSample[] = [];
  for (const specs of batches) {
    const batch = specs.map((s) =>
      sampleAt(s.seconds, 0n, { resourceId: s.resourceId, name: s.name }),
    );
    samples.push(...batch);
    const keys = resourceSightings(batch, (k) => known.get(k), STEP).map(resourceKey);
    assert.deepEqual(keys, [...new Set(keys)].sort(), 'unique, in key order');
    commit(known, batch);
  }
  for (const id of new Set(samples.map((s) => s.resourceId))) {
    const mine = samples.filter((s) => s.resourceId === id);
    const entry = known.get(resourceKey({ tenantId: 'acme', resourceId: id }))!;
    const first = Math.min(...mine.map((s) => s.observedAtMs));
    const last = Math.max(...mine.map((s) => s.observedAtMs));
    assert.equal(entry.firstSeenMs, first);
    assert.ok(last - entry.lastSeenMs < STEP, 'last seen lags less than the step');
    // The name is that of a sample observed at the latest time.
    const latest = mine.filter((s) => s.observedAtMs === last).map((s) => s.name);
    assert.ok(
      latest.includes(entry.description.name),
      `${entry.description.name} not in ${latest.join()}`,
    );
    assert.equal(entry.latestMs, last);
  }
}
