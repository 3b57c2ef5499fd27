import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSample } from '@metering/contracts';
import { identityOf } from '../sampling/reading';
import { containerSample } from '../sampling/sample.factory';
import { FileFollowedStore } from './followed-containers.store';

const sampleOf = (n: number) =>
  containerSample(
    'node-1',
    identityOf(
      { id: `${n}`.padStart(64, 'a'), name: `web-${n}`, startedAt: '2026-11-26T12:58:00Z' },
      'ωμέγα',
    ),
    {
      at: 1_796_000_000_000 + n,
      doneAt: 1_796_000_000_000 + n,
      cpuUsageNs: 98_765_432_101_234_567n + BigInt(n),
      memoryWorkingSetBytes: 52_428_800,
      limits: { cpuLimitCores: 0.5, memoryLimitBytes: null },
    },
    'running',
    1_796_000_000_000 + n,
    n,
  );

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'followed-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("the samples' JSON as the publisher made it is saved as is, and loads back as the samples", async () => {
  const store = new FileFollowedStore(join(dir, 'a'));
  const samples = [sampleOf(1), sampleOf(2), sampleOf(3)];
  store.save(
    samples.map((s) => encodeSample(s)),
    true,
  );
  const text = await readFile(store.path, 'utf8');
  const values = samples.map((s) => encodeSample(s).toString('utf8'));
  assert.equal(text, `{"version":1,"samples":[${values.join(',')}]}`);
  const loaded = store.load();
  assert.equal(loaded.kind, 'loaded');
  assert.deepEqual(loaded.kind === 'loaded' ? loaded.samples : [], samples);
});

test('none followed: an empty list, loaded as none', () => {
  const store = new FileFollowedStore(join(dir, 'b'));
  store.save([], false);
  const loaded = store.load();
  assert.deepEqual(loaded, { kind: 'loaded', samples: [] });
});

test('a sample that is not one (bytes saved as given) makes the file unusable, not a crash', () => {
  const store = new FileFollowedStore(join(dir, 'c'));
  store.save([encodeSample(sampleOf(1)), Buffer.from('{"not":"a sample"}')], false);
  assert.equal(store.load().kind, 'unusable');
});
