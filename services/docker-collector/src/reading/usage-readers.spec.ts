import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupReader, parseMountInfo, syncFileReader } from '../cgroups';
import { type OneShotStats } from '../discovery/docker-engine.client';
import { type InspectedContainer } from '../discovery/inspected-container';
import { AutoUsageReader } from './auto-usage.reader';
import { CgroupUsageReader } from './cgroup-usage.reader';
import { StatsApiUsageReader } from './stats-api-usage.reader';
import { UsageLocateError, UsageReadError, UsageVanishedError } from './usage.errors';

const ID = 'fc8ba45a93e1';
const root = mkdtempSync(join(tmpdir(), 'usage-readers-'));
const write = (rel: string, text: string): void => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};
// A hybrid v1 host under `root`, one container in /metering/acme, its process 77 in `proc`.
const mounts = parseMountInfo(
  ['cpu', 'cpuacct', 'memory', 'cpuset']
    .map((c, i) => `${30 + i} 1 0:${30 + i} / ${root}/${c} rw - cgroup cgroup rw,${c}`)
    .join('\n'),
);
const cg = `metering/acme/${ID}`;
write(`cpuacct/${cg}/cpuacct.usage`, '2030000000\n');
write(`cpuacct/metering/acme/cpuacct.usage`, '9000000000\n');
write(`memory/${cg}/memory.usage_in_bytes`, '5000\n');
write(`memory/${cg}/memory.limit_in_bytes`, '67108864\n');
write(`memory/${cg}/memory.stat`, 'total_inactive_file 1000\n');
write(`cpu/${cg}/cpu.cfs_quota_us`, '100000\n');
write(`cpu/${cg}/cpu.cfs_period_us`, '100000\n');
write(
  `proc/77/cgroup`,
  ['cpu', 'cpuacct', 'memory', 'cpuset'].map((c, i) => `${i + 1}:${c}:/${cg}`).join('\n'),
);

const container = (over: Partial<InspectedContainer> = {}): InspectedContainer => ({
  id: ID,
  name: 'burn',
  labels: {},
  running: true,
  pid: 77,
  startedAt: '2026-11-26T13:00:00Z',
  finishedAt: null,
  cgroupParent: '/metering/acme',
  configuredLimits: { cpuLimitCores: 1, memoryLimitBytes: 67108864 },
  ...over,
});

const cgroups = new CgroupUsageReader({
  mounts,
  driver: 'cgroupfs',
  procRoot: join(root, 'proc'),
  reader: new CgroupReader(2, syncFileReader),
});

describe('CgroupUsageReader', () => {
  test('locates through /proc/<pid>/cgroup and reads usage, limits and the parent', async () => {
    const target = await cgroups.locate(container());
    assert.equal(target.kind, 'cgroup');
    if (target.kind !== 'cgroup') return;
    assert.equal(target.path, `/${cg}`);
    assert.equal(target.parentPath, '/metering/acme');
    const snapshot = await cgroups.read(target, true);
    assert.deepEqual(snapshot, {
      cpuUsageNs: 2_030_000_000n,
      memoryWorkingSetBytes: 4000,
      limits: { cpuLimitCores: 1, memoryLimitBytes: 67108864 },
    });
    assert.equal((await cgroups.read(target, false)).limits, null);
    assert.equal(await cgroups.readParentCpuNs(target.parentLocation!), 9_000_000_000n);
  });

  test('without the process, the path comes from CgroupParent and the id', async () => {
    const target = await cgroups.locate(container({ pid: 999999 }));
    assert.equal(target.kind === 'cgroup' && target.path, `/${cg}`);
    const gone = await cgroups.locate(container({ id: 'ffff', pid: 0 }));
    await assert.rejects(cgroups.read(gone, false), UsageVanishedError);
  });

  test('a host without cgroup hierarchies cannot locate', async () => {
    const none = new CgroupUsageReader({
      mounts: parseMountInfo(''),
      driver: 'cgroupfs',
      procRoot: join(root, 'proc'),
      reader: new CgroupReader(2, syncFileReader),
    });
    await assert.rejects(none.locate(container()), UsageLocateError);
  });
});

describe('StatsApiUsageReader', () => {
  const stats = (over: Partial<OneShotStats> = {}): OneShotStats => ({
    read: '2026-11-26T13:00:10Z',
    cpuTotalUsageNs: 5_000_000_000n,
    memoryUsageBytes: 3000,
    memoryInactiveFileBytes: 500,
    ...over,
  });

  test('the cumulative counter, working set, and configured limits', async () => {
    const reader = new StatsApiUsageReader({ statsOnce: () => Promise.resolve(stats()) }, 2);
    const target = await reader.locate(container());
    assert.deepEqual(await reader.read(target, true), {
      cpuUsageNs: 5_000_000_000n,
      memoryWorkingSetBytes: 2500,
      limits: { cpuLimitCores: 1, memoryLimitBytes: 67108864 },
    });
  });

  test('a gone container vanishes; an engine error is a read error; no parents', async () => {
    const gone = new StatsApiUsageReader({ statsOnce: () => Promise.resolve(null) }, 1);
    await assert.rejects(gone.read(await gone.locate(container()), false), UsageVanishedError);
    const failing = new StatsApiUsageReader(
      { statsOnce: () => Promise.reject(new Error('500')) },
      1,
    );
    await assert.rejects(failing.read(await failing.locate(container()), false), UsageReadError);
    await assert.rejects(failing.readParentCpuNs({ version: 'v2', dir: '/' }), UsageReadError);
  });

  test('at most `concurrency` requests at a time', async () => {
    let active = 0;
    let peak = 0;
    const reader = new StatsApiUsageReader(
      {
        statsOnce: async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active -= 1;
          return stats();
        },
      },
      3,
    );
    const target = await reader.locate(container());
    await Promise.all(Array.from({ length: 10 }, () => reader.read(target, false)));
    assert.equal(peak, 3);
  });
});

describe('AutoUsageReader', () => {
  const statsApi = new StatsApiUsageReader(
    {
      statsOnce: () =>
        Promise.resolve({
          read: 'x',
          cpuTotalUsageNs: 1n,
          memoryUsageBytes: 1,
          memoryInactiveFileBytes: 0,
        }),
    },
    1,
  );

  test('cgroup files when readable, the stats API otherwise — but not for a container that just exited', async () => {
    const fallbacks: string[] = [];
    const auto = new AutoUsageReader(cgroups, statsApi, (c) => fallbacks.push(c.id));
    assert.equal((await auto.locate(container())).kind, 'cgroup');
    assert.equal((await auto.locate(container({ id: 'gone', pid: 0 }))).kind, 'cgroup');
    const unreadable = new CgroupUsageReader({
      mounts: parseMountInfo(''),
      driver: 'cgroupfs',
      procRoot: '/nonexistent',
      reader: new CgroupReader(2, syncFileReader),
    });
    const fallback = new AutoUsageReader(unreadable, statsApi, (c) => fallbacks.push(c.id));
    const target = await fallback.locate(container());
    assert.equal(target.kind, 'stats-api');
    assert.equal((await fallback.read(target, false)).cpuUsageNs, 1n);
    assert.deepEqual(fallbacks, [ID]);
  });
});
