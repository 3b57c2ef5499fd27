import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Lifecycle, encodeSample, exampleDockerSample } from '@metering/contracts';
import { withTempDir, testLogger } from '../test/spool.fixtures';
import { DiskSpool } from './disk-spool';
import { sampleThinMarker } from './sample-thin-marker';
import { type SpoolRecord } from './spool-record';
import { type ThinMarker, planThinning } from './thin-plan';

// What the spool thins is said on the next kept sample of the instance (ADR 0013).

/** Values "instance:n", marked "instance:n+k". */
const marker: ThinMarker = {
  instanceOf: (v) => v.toString().split(':')[0] ?? null,
  thinnedIn: (v) => Number(v.toString().split('+')[1] ?? '0'),
  mark: (v, k) => {
    const [base, had] = v.toString().split('+');
    return Buffer.from(`${base}+${Number(had ?? '0') + k}`);
  },
};

function rec(
  key: string,
  instance: string,
  n: number,
  lifecycle: Lifecycle = 'running',
): SpoolRecord {
  return {
    key: Buffer.from(key),
    value: Buffer.from(`${instance}:${n}`),
    lifecycle,
    seq: n,
    appendedAt: 0,
  };
}

const show = (records: SpoolRecord[], marked: ThinMarker | null) =>
  planThinning(
    records.map((record) => ({ record, protected: false })),
    new Map(),
    marked,
  ).map((d, i) =>
    d.kind === 'drop' ? '-' : d.kind === 'keep' ? records[i]!.value.toString() : d.value.toString(),
  );

describe('planThinning', () => {
  test('without a marker: every second running record of each key, as before', () => {
    const records = [
      rec('a', 'x', 0),
      rec('a', 'x', 1),
      rec('b', 'y', 2),
      rec('a', 'x', 3),
      rec('a', 'x', 4),
    ];
    assert.deepEqual(show(records, null), ['x:0', '-', 'y:2', 'x:3', '-']);
  });

  test('with a marker: the kept successor says how many; a drop without one is kept', () => {
    const records = [
      rec('a', 'x', 0, 'start'),
      rec('a', 'x', 1),
      rec('a', 'x', 2),
      rec('a', 'x', 3),
      rec('a', 'x', 4),
      rec('a', 'x', 5, 'final'),
      rec('b', 'y', 6),
      rec('b', 'y', 7), // last of its key in the segment: no one to say it, kept
    ];
    assert.deepEqual(show(records, marker), [
      'x:0',
      'x:1',
      '-',
      'x:3+1',
      '-',
      'x:5+1',
      'y:6',
      'y:7',
    ]);
  });

  test('never marks another instance of the same resource, nor a protected record', () => {
    const records = [rec('a', 'x', 0), rec('a', 'x', 1), rec('a', 'z', 2, 'start')];
    assert.deepEqual(show(records, marker), ['x:0', 'x:1', 'z:2']);
    // Interleaved instances of one resource: each is marked on its own.
    const interleaved = [0, 1, 2, 3, 4, 5].map((n) => rec('a', n % 2 === 0 ? 'x' : 'z', n));
    assert.deepEqual(show(interleaved, marker), ['x:0', '-', 'x:2', '-', 'x:4', 'z:5+2']);
    const plan = planThinning(
      [rec('a', 'x', 0), rec('a', 'x', 1), rec('a', 'x', 2)].map((record, i) => ({
        record,
        protected: i < 2,
      })),
      new Map(),
      marker,
    );
    assert.deepEqual(
      plan.map((d) => d.kind),
      ['keep', 'keep', 'keep'],
    );
  });

  test('property: every drop is said exactly once, on a later kept record of its instance', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b'),
            instance: fc.constantFrom('1', '2'),
            lifecycle: fc.constantFrom<Lifecycle>(
              'running',
              'running',
              'running',
              'start',
              'final',
            ),
          }),
          { maxLength: 80 },
        ),
        (spec) => {
          const records = spec.map((s, i) => rec(s.key, `${s.key}${s.instance}`, i, s.lifecycle));
          const plan = planThinning(
            records.map((record) => ({ record, protected: false })),
            new Map(),
            marker,
          );
          let drops = 0;
          let said = 0;
          const pending = new Map<string, number>();
          plan.forEach((d, i) => {
            const r = records[i]!;
            const instance = r.value.toString().split(':')[0]!;
            if (d.kind === 'drop') {
              assert.equal(r.lifecycle, 'running');
              drops += 1;
              pending.set(instance, (pending.get(instance) ?? 0) + 1);
              return;
            }
            const k = d.kind === 'replace' ? Number(d.value.toString().split('+')[1]) : 0;
            said += k;
            assert.equal(k, pending.get(instance) ?? 0, 'the count of drops right before it');
            pending.set(instance, 0);
          });
          assert.equal(said, drops);
          assert.ok(
            [...pending.values()].every((n) => n === 0),
            'no drop left unsaid',
          );
        },
      ),
    );
  });
});

test('a full spool of samples: the kept samples say exactly the sequence numbers thinned', () =>
  withTempDir(async (dir) => {
    const spool = await DiskSpool.open(dir, {
      logger: testLogger(),
      thinMarker: sampleThinMarker,
      settings: { segmentBytes: 8 * 1024, maxBytes: 48 * 1024 },
    });
    const base = exampleDockerSample();
    let thinned = 0;
    for (let n = 0; n < 400; n++) {
      const instance = n % 2 === 0 ? 'i-even' : 'i-odd';
      const sequence = Math.floor(n / 2);
      const sample = {
        ...base,
        sampleId: `s${n}`,
        sequence,
        lifecycle: (sequence === 0 ? 'start' : 'running') as Lifecycle,
        resource: { ...base.resource, instanceId: instance },
      };
      const result = await spool.append([
        {
          key: Buffer.from(base.resource.id),
          value: encodeSample(sample),
          lifecycle: sample.lifecycle,
        },
      ]);
      thinned += result.thinned;
    }
    assert.ok(thinned > 50, `the spool thinned (${thinned})`);
    const kept = (await spool.peek(1000)).map(
      (r) =>
        JSON.parse(r.value.toString()) as {
          sequence: number;
          thinned?: number;
          resource: { instanceId: string };
        },
    );
    let said = 0;
    for (const instance of ['i-even', 'i-odd']) {
      let previous = -1;
      for (const s of kept.filter((k) => k.resource.instanceId === instance)) {
        assert.equal(
          s.thinned ?? 0,
          s.sequence - previous - 1,
          `sequence ${s.sequence} of ${instance}`,
        );
        said += s.thinned ?? 0;
        previous = s.sequence;
      }
    }
    assert.equal(said, thinned, 'every thinned sample is said');
    await spool.close();
  }));
