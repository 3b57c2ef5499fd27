import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupReadError, CgroupVanishedError } from './cgroup.errors';
import { parseMountInfo, parseProcCgroup } from './cgroup-mounts';
import { CgroupReader, locateCgroup, type CgroupLocation } from './cgroup.reader';
import { countCpuSet } from './cpu-set';

const root = mkdtempSync(join(tmpdir(), 'cgroup-fixture-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes a fixture tree: { 'memory/docker/abc/memory.usage_in_bytes': '123\n', ... }. */
function tree(files: Record<string, string>): string {
  const base = mkdtempSync(join(root, 't-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(base, rel, '..'), { recursive: true });
    writeFileSync(join(base, rel), content);
  }
  return base;
}

const ID = 'docker/3f2a';
const v1Files = (over: Record<string, string | undefined> = {}): Record<string, string> => {
  const files: Record<string, string | undefined> = {
    [`cpuacct/${ID}/cpuacct.usage`]: '98765432101234567\n', // beyond 2^53: must stay exact
    [`memory/${ID}/memory.usage_in_bytes`]: '73400320\n',
    [`memory/${ID}/memory.limit_in_bytes`]: '134217728\n',
    [`memory/${ID}/memory.stat`]: 'cache 100\ntotal_inactive_file 20971520\ntotal_rss 5\n',
    [`cpu/${ID}/cpu.cfs_quota_us`]: '50000\n',
    [`cpu/${ID}/cpu.cfs_period_us`]: '100000\n',
    [`cpuset/${ID}/cpuset.cpus`]: '0-1\n',
    ...over,
  };
  return Object.fromEntries(
    Object.entries(files).filter((e): e is [string, string] => e[1] !== undefined),
  );
};
const v1Location = (base: string): CgroupLocation => ({
  version: 'v1',
  cpuacct: join(base, 'cpuacct', ID),
  memory: join(base, 'memory', ID),
  cpu: join(base, 'cpu', ID),
  cpuset: join(base, 'cpuset', ID),
});

describe('cgroup v1', () => {
  test('reads cumulative CPU exactly, working set, limits from quota and cpuset', async () => {
    const stats = await new CgroupReader(4).readStats(v1Location(tree(v1Files())));
    assert.equal(stats.cpuUsageNs, 98765432101234567n);
    assert.equal(stats.memoryUsageBytes, 73400320);
    assert.equal(stats.memoryWorkingSetBytes, 73400320 - 20971520);
    assert.equal(stats.memoryLimitBytes, 134217728);
    assert.equal(stats.cpuLimitCores, 0.5, 'quota 50 ms per 100 ms beats a 2-CPU cpuset');
  });

  test('the page-aligned LONG_MAX limit, quota -1 and a full cpuset mean unlimited', async () => {
    const base = tree(
      v1Files({
        [`memory/${ID}/memory.limit_in_bytes`]: '9223372036854771712\n',
        [`cpu/${ID}/cpu.cfs_quota_us`]: '-1\n',
        [`cpuset/${ID}/cpuset.cpus`]: '0-3\n',
      }),
    );
    const stats = await new CgroupReader(4).readStats(v1Location(base));
    assert.equal(stats.memoryLimitBytes, null);
    assert.equal(stats.cpuLimitCores, null);
  });

  test('a cpuset narrower than the host is the CPU limit when there is no quota', async () => {
    const base = tree(
      v1Files({ [`cpu/${ID}/cpu.cfs_quota_us`]: '-1\n', [`cpuset/${ID}/cpuset.cpus`]: '2,5-6\n' }),
    );
    assert.equal((await new CgroupReader(8).readStats(v1Location(base))).cpuLimitCores, 3);
  });

  test('missing optional files (no CFS bandwidth control, no memory.stat) are not errors', async () => {
    const base = tree(
      v1Files({
        [`cpu/${ID}/cpu.cfs_quota_us`]: undefined,
        [`cpu/${ID}/cpu.cfs_period_us`]: undefined,
        [`memory/${ID}/memory.stat`]: undefined,
        [`cpuset/${ID}/cpuset.cpus`]: undefined,
      }),
    );
    const stats = await new CgroupReader(4).readStats(v1Location(base));
    assert.equal(stats.cpuLimitCores, null);
    assert.equal(stats.memoryWorkingSetBytes, stats.memoryUsageBytes);
  });

  test('a cgroup that vanishes mid-read raises CgroupVanishedError, not a crash', async () => {
    const base = tree(v1Files());
    let reads = 0;
    const reader = new CgroupReader(4, (path) => {
      reads += 1;
      // The container exits right after its CPU counter was read.
      if (reads === 2) rmSync(join(base, 'memory'), { recursive: true, force: true });
      return readFileSync(path, 'utf8');
    });
    await assert.rejects(reader.readStats(v1Location(base)), (error: unknown) => {
      assert.ok(error instanceof CgroupVanishedError);
      assert.equal(error.code, 'CGROUP_VANISHED');
      assert.match(error.path, /memory\.usage_in_bytes$/);
      return true;
    });
  });

  test('files read every cycle and limits files go to their own readers', async () => {
    const base = tree(v1Files());
    const often: string[] = [];
    const rarely: string[] = [];
    const via =
      (seen: string[]) =>
      (path: string): string => {
        seen.push(path.slice(path.lastIndexOf('/') + 1));
        return readFileSync(path, 'utf8');
      };
    const reader = new CgroupReader(4, via(often), via(rarely));
    const location = v1Location(base);
    const stats = await reader.readStats(location);
    assert.equal(stats.cpuUsageNs, 98765432101234567n);
    assert.deepEqual(often, ['cpuacct.usage', 'memory.usage_in_bytes', 'memory.stat']);
    assert.deepEqual(rarely, [
      'memory.limit_in_bytes',
      'cpu.cfs_quota_us',
      'cpu.cfs_period_us',
      'cpuset.cpus',
    ]);
    await reader.readCpuUsageNs(location);
    assert.deepEqual(often.at(-1), 'cpuacct.usage', "a parent's counter: every cycle");
  });

  test('a garbage counter raises CgroupReadError naming the file', async () => {
    const base = tree(v1Files({ [`cpuacct/${ID}/cpuacct.usage`]: 'not-a-number\n' }));
    await assert.rejects(new CgroupReader(4).readStats(v1Location(base)), (error: unknown) => {
      assert.ok(error instanceof CgroupReadError);
      assert.equal(error.code, 'CGROUP_READ_FAILED');
      assert.match(error.message, /not-a-number/);
      return true;
    });
  });
});

describe('cgroup v2', () => {
  const dir = 'system.slice/docker-3f2a.scope';
  const v2Files = (over: Record<string, string> = {}): Record<string, string> => ({
    [`${dir}/cpu.stat`]: 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n',
    [`${dir}/memory.current`]: '52428800\n',
    [`${dir}/memory.max`]: '67108864\n',
    [`${dir}/memory.stat`]: 'anon 100\ninactive_file 2097152\nactive_file 0\n',
    [`${dir}/cpu.max`]: '150000 100000\n',
    [`${dir}/cpuset.cpus.effective`]: '0-7\n',
    ...over,
  });

  test('reads usage_usec as nanoseconds, working set, memory.max and cpu.max', async () => {
    const base = tree(v2Files());
    const stats = await new CgroupReader(8).readStats({ version: 'v2', dir: join(base, dir) });
    assert.equal(stats.cpuUsageNs, 1_500_000_000n);
    assert.equal(stats.memoryWorkingSetBytes, 52428800 - 2097152);
    assert.equal(stats.memoryLimitBytes, 67108864);
    assert.equal(stats.cpuLimitCores, 1.5);
  });

  test('"max" means unlimited', async () => {
    const base = tree(
      v2Files({ [`${dir}/memory.max`]: 'max\n', [`${dir}/cpu.max`]: 'max 100000\n' }),
    );
    const stats = await new CgroupReader(8).readStats({ version: 'v2', dir: join(base, dir) });
    assert.equal(stats.memoryLimitBytes, null);
    assert.equal(stats.cpuLimitCores, null);
  });

  test('a removed cgroup directory raises CgroupVanishedError', async () => {
    await assert.rejects(
      new CgroupReader(8).readStats({ version: 'v2', dir: join(root, 'gone', dir) }),
      CgroupVanishedError,
    );
  });

  test('cpu.stat without usage_usec is a read error', async () => {
    const base = tree(v2Files({ [`${dir}/cpu.stat`]: 'user_usec 1\n' }));
    await assert.rejects(
      new CgroupReader(8).readStats({ version: 'v2', dir: join(base, dir) }),
      CgroupReadError,
    );
  });
});

describe('locating a container cgroup', () => {
  // Hybrid host as on these machines: v1 controllers mounted separately plus an empty cgroup2.
  const hybridMountInfo = [
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
    '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    '22 1 8:1 / / rw,relatime - ext4 /dev/vda rw',
  ].join('\n');
  const procCgroup = [
    '4:memory:/docker/3f2a',
    '3:cpuset:/docker/3f2a',
    '2:cpuacct:/docker/3f2a',
    '1:cpu:/docker/3f2a',
    '9:name=systemd:/docker/3f2a',
    '0::/docker/3f2a',
  ].join('\n');

  test('v1 wins on hybrid hosts, with one directory per controller', () => {
    const loc = locateCgroup(parseMountInfo(hybridMountInfo), parseProcCgroup(procCgroup));
    assert.deepEqual(loc, {
      version: 'v1',
      cpuacct: '/sys/fs/cgroup/cpuacct/docker/3f2a',
      memory: '/sys/fs/cgroup/memory/docker/3f2a',
      cpu: '/sys/fs/cgroup/cpu/docker/3f2a',
      cpuset: '/sys/fs/cgroup/cpuset/docker/3f2a',
    });
  });

  test('co-mounted controllers (cpu,cpuacct) resolve to the same directory', () => {
    const mounts = parseMountInfo(
      '30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n' +
        '31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    );
    const loc = locateCgroup(
      mounts,
      parseProcCgroup('3:cpu,cpuacct:/docker/x\n2:memory:/docker/x'),
    );
    assert.equal(loc?.version, 'v1');
    if (loc?.version === 'v1') assert.equal(loc.cpuacct, '/sys/fs/cgroup/cpu,cpuacct/docker/x');
  });

  test('a pure v2 host uses the unified directory', () => {
    const mounts = parseMountInfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate');
    const loc = locateCgroup(mounts, parseProcCgroup('0::/system.slice/docker-3f2a.scope'));
    assert.deepEqual(loc, { version: 'v2', dir: '/sys/fs/cgroup/system.slice/docker-3f2a.scope' });
  });

  test('no usable hierarchy gives null', () => {
    assert.equal(locateCgroup(parseMountInfo(''), parseProcCgroup('')), null);
  });

  test('mount points with escaped spaces are decoded', () => {
    const mounts = parseMountInfo('1 1 0:1 / /host\\040root/cg rw - cgroup2 cgroup2 rw');
    assert.equal(mounts.v2, '/host root/cg');
  });
});

describe('cpuset lists', () => {
  for (const [list, n] of [
    ['0', 1],
    ['0-3', 4],
    ['0-1,4,6-7', 5],
    ['', 0],
    [' 2-2 \n', 1],
  ] as const) {
    test(`"${list.trim()}" has ${n} CPUs`, () => assert.equal(countCpuSet(list), n));
  }
  test('malformed lists are rejected', () => {
    assert.throws(() => countCpuSet('3-1'), /invalid cpuset range/);
    assert.throws(() => countCpuSet('a-b'), /invalid cpuset list/);
  });
});
