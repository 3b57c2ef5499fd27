import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  QemuProcessReader,
  parseBootTime,
  parseProcStat,
  parseStatusMemory,
} from './qemu-process.reader';

const UUID = '11111111-2222-4333-8444-555555555555';
const BOOT_TIME_S = 1_795_700_000;
// A real /proc/<pid>/stat line of a QEMU process (starttime 115142 ticks after boot).
const QEMU_STAT =
  '22669 (qemu-system-x86) S 1 22668 22668 0 -1 138412416 5195 0 0 0 11 61 0 0 20 0 5 0 ' +
  '115142 433491968 10315 18446744073709551615 1 1 0 0 0 0 268444224 4096 16963 0 0 0 17 0 0 0';

let root: string;
let procDir: string;
let runDir: string;

async function qemuProcess(pid: number, name: string, uuid: string, stat: string, rssKib: number) {
  await writeFile(join(runDir, `${name}.pid`), `${pid}\n`);
  await mkdir(join(procDir, String(pid)), { recursive: true });
  await writeFile(join(procDir, String(pid), 'stat'), stat);
  await writeFile(
    join(procDir, String(pid), 'cmdline'),
    ['/usr/bin/qemu-system-x86_64', '-name', `guest=${name}`, '-uuid', uuid, ''].join('\0'),
  );
  await writeFile(
    join(procDir, String(pid), 'status'),
    `Name:\tqemu-system-x86\nVmRSS:\t  ${rssKib} kB\nHugetlbPages:\t       0 kB\n`,
  );
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vm-collector-proc-'));
  procDir = join(root, 'proc');
  runDir = join(root, 'run');
  await mkdir(join(procDir, 'sys/kernel/random'), { recursive: true });
  await mkdir(runDir, { recursive: true });
  await writeFile(join(procDir, 'sys/kernel/random/boot_id'), 'b00t-1d\n');
  await writeFile(join(procDir, 'stat'), `cpu  1 2 3\nbtime ${BOOT_TIME_S}\nprocesses 9\n`);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('parses the start time after a command name with spaces and parentheses', () => {
  assert.deepEqual(parseProcStat(QEMU_STAT), { startTicks: 115142 });
  const odd = QEMU_STAT.replace('(qemu-system-x86)', '(a) b (c)');
  assert.deepEqual(parseProcStat(odd), { startTicks: 115142 });
  assert.throws(() => parseProcStat('garbage'));
  assert.throws(() => parseProcStat('1 (x) S 1 2'));
});

test('parses btime and VmRSS + HugetlbPages', () => {
  assert.equal(parseBootTime(`cpu 1\nbtime ${BOOT_TIME_S}\n`), BOOT_TIME_S);
  assert.throws(() => parseBootTime('cpu 1\n'));
  assert.equal(parseStatusMemory('VmRSS:\t   41260 kB\nHugetlbPages:\t  2048 kB\n'), 43308 * 1024);
  assert.equal(parseStatusMemory('VmRSS:\t 100 kB\n'), 100 * 1024);
  assert.equal(parseStatusMemory('State:\tZ (zombie)\n'), null);
});

test('reads a domain process: start time from boot time + ticks, boot key, memory', async () => {
  await qemuProcess(22669, 'tiny', UUID, QEMU_STAT, 41260);
  const reader = new QemuProcessReader({ runDir, procDir });
  const facts = await reader.read('tiny', UUID, 5);
  assert.deepEqual(facts, {
    pid: 22669,
    bootKey: 'b00t-1d:115142',
    startedAt: new Date(BOOT_TIME_S * 1000 + 1_151_420),
    memoryBytes: 41260 * 1024,
  });
  // Memory is read afresh every time; identity facts are cached.
  await writeFile(join(procDir, '22669', 'status'), 'VmRSS:\t 50000 kB\n');
  assert.equal((await reader.read('tiny', UUID, 5))?.memoryBytes, 50000 * 1024);
});

test('a pid file naming another process (stale) is not this domain', async () => {
  await qemuProcess(3000, 'stale', '99999999-2222-4333-8444-555555555555', QEMU_STAT, 1);
  const reader = new QemuProcessReader({ runDir, procDir });
  assert.equal(await reader.read('stale', UUID, 7), null);
});

test('no pid file yet, or a process that ended, gives null without throwing', async () => {
  const reader = new QemuProcessReader({ runDir, procDir });
  assert.equal(await reader.read('not-started', UUID, 8), null);
  await qemuProcess(4000, 'ending', UUID, QEMU_STAT, 10);
  assert.ok(await reader.read('ending', UUID, 9));
  await rm(join(procDir, '4000'), { recursive: true });
  await unlink(join(runDir, 'ending.pid'));
  assert.equal(await reader.read('ending', UUID, 9), null);
});
