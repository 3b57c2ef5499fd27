import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMountInfo, parseProcCgroup } from './cgroup-mounts';
import {
  accountingPath,
  containerCgroupPath,
  expandSystemdSlice,
  locateCgroupPath,
  parentCgroupPath,
  parentLocation,
} from './cgroup-path';
import { CgroupReader, syncFileReader } from './cgroup.reader';
import { CgroupVanishedError } from './cgroup.errors';

const ID = 'fc8ba45a93e1';
const hybrid = parseMountInfo(
  [
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
    '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n'),
);

describe('cgroup path of a container from its parent and id', () => {
  for (const [driver, parent, expected] of [
    ['cgroupfs', '', `/docker/${ID}`],
    ['cgroupfs', '/metering/acme', `/metering/acme/${ID}`],
    ['cgroupfs', 'metering/acme/', `/metering/acme/${ID}`],
    ['systemd', '', `/system.slice/docker-${ID}.scope`],
    ['systemd', 'metering-acme.slice', `/metering.slice/metering-acme.slice/docker-${ID}.scope`],
  ] as const) {
    test(`${driver} with parent "${parent}" → ${expected}`, () => {
      assert.equal(containerCgroupPath(driver, parent, ID), expected);
    });
  }

  test('systemd slices nest by their dashes; "-.slice" is the root', () => {
    assert.equal(expandSystemdSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
    assert.equal(expandSystemdSlice('-.slice'), '/');
    assert.throws(() => expandSystemdSlice('metering'), /not a systemd slice/);
    assert.throws(() => expandSystemdSlice('a--b.slice'), /invalid systemd slice/);
  });

  test('a path locates in every v1 hierarchy, v1 winning on hybrid hosts', () => {
    assert.deepEqual(locateCgroupPath(hybrid, '/metering/acme/x'), {
      version: 'v1',
      cpuacct: '/sys/fs/cgroup/cpuacct/metering/acme/x',
      memory: '/sys/fs/cgroup/memory/metering/acme/x',
      cpu: '/sys/fs/cgroup/cpu/metering/acme/x',
      cpuset: '/sys/fs/cgroup/cpuset/metering/acme/x',
    });
    const v2 = parseMountInfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw');
    assert.deepEqual(locateCgroupPath(v2, '/system.slice/docker-x.scope'), {
      version: 'v2',
      dir: '/sys/fs/cgroup/system.slice/docker-x.scope',
    });
  });

  test('the accounting path comes from cpuacct on v1 and the unified line on v2', () => {
    const proc = parseProcCgroup(`2:cpuacct:/metering/acme/${ID}\n4:memory:/metering/acme/${ID}`);
    assert.equal(accountingPath(hybrid, proc), `/metering/acme/${ID}`);
    const v2 = parseMountInfo('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw');
    assert.equal(
      accountingPath(v2, parseProcCgroup('0::/system.slice/x.scope')),
      '/system.slice/x.scope',
    );
    assert.equal(accountingPath(v2, parseProcCgroup('')), null);
  });

  test('parents one level up', () => {
    assert.equal(parentCgroupPath(`/metering/acme/${ID}`), '/metering/acme');
    assert.equal(parentCgroupPath('/docker/x/'), '/docker');
    assert.equal(parentCgroupPath('/'), null);
    const loc = locateCgroupPath(hybrid, '/metering/acme/x');
    assert.ok(loc !== null);
    assert.deepEqual(parentLocation(loc), locateCgroupPath(hybrid, '/metering/acme'));
  });
});

describe('partial readings', () => {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-partial-'));
  const write = (rel: string, text: string): void => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  write('cpuacct/p/cpuacct.usage', '5000000000\n');
  write('cpuacct/p/c/cpuacct.usage', '3000000000\n');
  write('memory/p/c/memory.usage_in_bytes', '1000\n');
  write('memory/p/c/memory.stat', 'total_inactive_file 400\n');
  write('v2/p/cpu.stat', 'usage_usec 7\n');
  const loc = {
    version: 'v1' as const,
    cpuacct: join(root, 'cpuacct/p/c'),
    memory: join(root, 'memory/p/c'),
    cpu: null,
    cpuset: null,
  };

  test('usage alone needs no limit files', async () => {
    const usage = await new CgroupReader(2, syncFileReader).readUsage(loc);
    assert.deepEqual(usage, {
      cpuUsageNs: 3_000_000_000n,
      memoryUsageBytes: 1000,
      memoryWorkingSetBytes: 600,
    });
  });

  test('a parent is read for its CPU counter only, v1 and v2', async () => {
    const reader = new CgroupReader(2, syncFileReader);
    assert.equal(await reader.readCpuUsageNs(parentLocation(loc)), 5_000_000_000n);
    assert.equal(await reader.readCpuUsageNs({ version: 'v2', dir: join(root, 'v2/p') }), 7000n);
  });

  test('limits of a vanished cgroup and a sync read of a missing file both say vanished', async () => {
    const reader = new CgroupReader(2, syncFileReader);
    await assert.rejects(reader.readLimits(loc), CgroupVanishedError);
    rmSync(join(root, 'cpuacct/p/c'), { recursive: true });
    await assert.rejects(reader.readUsage(loc), CgroupVanishedError);
  });
});
