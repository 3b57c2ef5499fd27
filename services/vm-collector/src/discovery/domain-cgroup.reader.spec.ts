import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DomainCgroupReader,
  cpuCounterCandidates,
  parseCpuacctUsageNs,
  parseCpuStatUsageNs,
} from './domain-cgroup.reader';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

// /proc/<pid>/cgroup of a QEMU process of libvirt 9 without systemd on a hybrid host (this
// machine), and with systemd on a cgroup v2 host.
const HYBRID = [
  '9:name=systemd:/',
  '7:blkio:/machine/qemu-1-vm.libvirt-qemu',
  '2:cpuacct:/',
  '1:cpu:/machine/qemu-1-vm.libvirt-qemu/emulator',
  '0::/machine/qemu-1-vm.libvirt-qemu/emulator',
  '',
].join('\n');
const SYSTEMD_V2 = '0::/machine.slice/machine-qemu\\x2d3\\x2dvm.scope/libvirt/vcpu0\n';

test('candidates: the domain cgroup (emulator or vcpuN left), v2 first, then v1 cpuacct', () => {
  assert.deepEqual(cpuCounterCandidates(HYBRID, '/sys/fs/cgroup'), [
    { path: '/sys/fs/cgroup/machine/qemu-1-vm.libvirt-qemu/cpu.stat', format: 'cpu.stat' },
    {
      path: '/sys/fs/cgroup/unified/machine/qemu-1-vm.libvirt-qemu/cpu.stat',
      format: 'cpu.stat',
    },
  ]);
  assert.deepEqual(cpuCounterCandidates(SYSTEMD_V2, '/c').at(0), {
    path: '/c/machine.slice/machine-qemu\\x2d3\\x2dvm.scope/libvirt/cpu.stat',
    format: 'cpu.stat',
  });
  assert.deepEqual(
    cpuCounterCandidates('4:cpu,cpuacct:/machine/qemu-2-vm.libvirt-qemu/emulator\n', '/c'),
    [
      {
        path: '/c/cpu,cpuacct/machine/qemu-2-vm.libvirt-qemu/cpuacct.usage',
        format: 'cpuacct.usage',
      },
    ],
  );
});

test('candidates: none for an unplaced process, a path going up, or garbage', () => {
  assert.deepEqual(cpuCounterCandidates('0::/\n2:cpuacct:/\n', '/c'), []);
  assert.deepEqual(cpuCounterCandidates('0::/emulator\n', '/c'), []);
  assert.deepEqual(cpuCounterCandidates('0::/machine/../../etc\n', '/c'), []);
  assert.deepEqual(cpuCounterCandidates('0::relative/path\n', '/c'), []);
  assert.deepEqual(cpuCounterCandidates('no colons here\n\n::\n', '/c'), []);
  assert.deepEqual(cpuCounterCandidates('', '/c'), []);
});

test('cpu.stat: usage_usec in ns, wherever its line is; null when absent or not a number', () => {
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec 2910164\nuser_usec 63656\n')), 2910164000n);
  assert.equal(parseCpuStatUsageNs(bytes('nr_periods 0\nusage_usec 7\n')), 7000n);
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec 0')), 0n);
  assert.equal(parseCpuStatUsageNs(bytes('')), null);
  assert.equal(parseCpuStatUsageNs(bytes('user_usec 5\nsystem_usec 6\n')), null);
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec \n')), null);
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec -5\n')), null);
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec 12x4\n')), null);
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec 1 2\n')), null);
  assert.equal(parseCpuStatUsageNs(bytes('\u0000\u00ff garbage')), null);
  assert.equal(parseCpuStatUsageNs(bytes('xusage_usec 5\n')), null);
});

test('huge counters: exact beyond 2^53, refused beyond 19 digits', () => {
  assert.equal(parseCpuStatUsageNs(bytes('usage_usec 9007199254740993\n')), 9007199254740993000n);
  assert.equal(parseCpuacctUsageNs(bytes('9999999999999999999\n')), 9999999999999999999n);
  assert.equal(parseCpuacctUsageNs(bytes('18446744073709551615\n')), null);
  assert.equal(parseCpuStatUsageNs(bytes(`usage_usec ${'9'.repeat(40)}\n`)), null);
});

test('cpuacct.usage: one number of ns', () => {
  assert.equal(parseCpuacctUsageNs(bytes('123456789\n')), 123456789n);
  assert.equal(parseCpuacctUsageNs(bytes('')), null);
  assert.equal(parseCpuacctUsageNs(bytes('\n')), null);
  assert.equal(parseCpuacctUsageNs(bytes('12a\n')), null);
});

let root: string;
let procDir: string;
let cgroupRoot: string;
const DOMAIN = 'machine/qemu-1-vm.libvirt-qemu';

async function place(pid: number, procCgroup: string): Promise<void> {
  await mkdir(join(procDir, String(pid)), { recursive: true });
  await writeFile(join(procDir, String(pid), 'cgroup'), procCgroup);
}
const cpuStat = (usec: bigint): Promise<void> =>
  writeFile(join(cgroupRoot, 'unified', DOMAIN, 'cpu.stat'), `usage_usec ${usec}\nuser_usec 1\n`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vm-collector-cgroup-'));
  procDir = join(root, 'proc');
  cgroupRoot = join(root, 'cgroup');
  await mkdir(join(cgroupRoot, 'unified', DOMAIN), { recursive: true });
  await place(100, HYBRID);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('a counter that agrees with libvirt is held and read again; one that stops agreeing is refused', async () => {
  const reader = new DomainCgroupReader({ procDir, cgroupRoot });
  await cpuStat(5_000n);
  assert.equal(reader.read('a'), null, 'nothing before verify');
  // libvirt said 4.999 ms; the cgroup, read after, 5 ms: within the tolerance.
  assert.equal(reader.verify('a', 100, 4_999_000n, 10_000_000n), true);
  assert.equal(reader.heldCount, 1);
  await cpuStat(6_000n);
  assert.equal(reader.read('a'), 6_000_000n, 're-read through the held file');
  // Verified again by a later info read: still agrees.
  assert.equal(reader.verify('a', 100, 6_000_000n, 1_000_000n), true);
  // Far above libvirt's figure: not the domain's counter any more.
  assert.equal(reader.verify('a', 100, 1_000_000n, 1_000_000n), false);
  assert.equal(reader.read('a'), null);
  assert.equal(reader.heldCount, 0);
  // Refused for this boot, even if it would agree now.
  assert.equal(reader.verify('a', 100, 6_000_000n, 1_000_000n), false);
  // Another boot is tried afresh; retain() forgets the refusal of a boot gone.
  assert.equal(reader.verify('b', 100, 6_000_000n, 1_000_000n), true);
  reader.retain(new Set(['b']));
  assert.equal(reader.verify('a', 100, 6_000_000n, 1_000_000n), true);
  reader.retain(new Set());
  assert.equal(reader.heldCount, 0);
  reader.close();
});

test('a counter below libvirt by more than rounding is not the domain', async () => {
  const reader = new DomainCgroupReader({ procDir, cgroupRoot });
  await cpuStat(5_000n);
  assert.equal(reader.verify('a', 100, 7_000_000n, 1_000_000_000n), false);
  reader.close();
});

test('missing files and garbage contents: false or null, never a throw', async () => {
  const reader = new DomainCgroupReader({ procDir, cgroupRoot });
  // No /proc/<pid>/cgroup (the process ended).
  assert.equal(reader.verify('gone', 999, 0n, 1_000_000n), false);
  // Placed in a cgroup without a counter file.
  await place(101, '0::/machine/qemu-9-other.libvirt-qemu/emulator\n');
  assert.equal(reader.verify('nofile', 101, 0n, 1_000_000n), false);
  // Garbage in the counter.
  await writeFile(join(cgroupRoot, 'unified', DOMAIN, 'cpu.stat'), 'usage_usec lots\n');
  assert.equal(reader.verify('garbage', 100, 0n, 1_000_000n), false);
  // Held, then the file turns to garbage (or the cgroup goes): dropped, null.
  await cpuStat(1n);
  assert.equal(reader.verify('later', 100, 1_000n, 1_000_000n), true);
  await writeFile(join(cgroupRoot, 'unified', DOMAIN, 'cpu.stat'), '\u0000');
  assert.equal(reader.read('later'), null);
  assert.equal(reader.heldCount, 0);
  // A huge value that libvirt agrees with is held as it is.
  await cpuStat(9_007_199_254_740_993n);
  assert.equal(reader.verify('huge', 100, 9_007_199_254_740_993_000n, 1_000_000n), true);
  assert.equal(reader.read('huge'), 9_007_199_254_740_993_000n);
  await unlink(join(cgroupRoot, 'unified', DOMAIN, 'cpu.stat'));
  assert.equal(reader.verify('none', 100, 0n, 1_000_000n), false);
  reader.close();
});

test('a new QEMU process under the same key is verified afresh', async () => {
  const reader = new DomainCgroupReader({ procDir, cgroupRoot });
  await cpuStat(10n);
  assert.equal(reader.verify('k', 100, 10_000n, 1_000_000n), true);
  await place(102, '0::/machine/qemu-1-vm.libvirt-qemu/vcpu0\n');
  assert.equal(reader.verify('k', 102, 10_000n, 1_000_000n), true);
  assert.equal(reader.heldCount, 1);
  reader.close();
  assert.equal(reader.heldCount, 0);
});
