import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueName } from '@metering/testing';
import { CgroupReader, CgroupVanishedError, HeldFileReader, parseMountInfo } from '../src/cgroups';

// Held cgroup files on the real kernel (root): a cgroup made for the test, read through a held
// descriptor, then removed — the next read must say the cgroup vanished (the kernel answers
// ENODEV on the held file), exactly as reading by path says it with ENOENT.
test('a held file of a removed cgroup reads as vanished, and is closed', async () => {
  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const v1 = mounts.v1.get('cpuacct');
  const base = v1 ?? mounts.v2;
  assert.ok(base, 'a cpuacct (v1) or unified (v2) cgroup mount');
  const dir = join(base, uniqueName('held_files'));
  mkdirSync(dir);
  const held = new HeldFileReader({ maxHeld: 16, idleCloseMs: 60_000 });
  const reader = new CgroupReader(2, held.read);
  const location =
    v1 !== undefined
      ? ({ version: 'v1', cpuacct: dir, memory: dir, cpu: null, cpuset: null } as const)
      : ({ version: 'v2', dir } as const);
  try {
    const usage = await reader.readCpuUsageNs(location);
    assert.equal(typeof usage, 'bigint');
    assert.equal(held.heldCount, 1);
    assert.equal(await reader.readCpuUsageNs(location), usage); // nothing runs in it
  } finally {
    rmdirSync(dir);
  }
  await assert.rejects(reader.readCpuUsageNs(location), CgroupVanishedError);
  assert.equal(held.heldCount, 0);
});
