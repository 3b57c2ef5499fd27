import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  TICKS_PER_S,
  allProcesses,
  contextSwitches,
  machineBusySeconds,
  procDelta,
  procSample,
  procStat,
  statusKb,
  runQueueSeconds,
  threadCpuSeconds,
} from './proc-stats';

/**
 * Keeps this thread busy until the process has used `cpuMs` more of CPU by its own count
 * (getrusage: every thread), however loaded the machine is (at most 20 s); returns that count.
 */
function burn(cpuMs: number): number {
  const start = process.cpuUsage();
  const end = performance.now() + 20_000;
  let used = 0;
  while (used < cpuMs * 1000 && performance.now() < end) {
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return used / 1e6;
}

test('procSample and procDelta: the CPU this process burns, in seconds (as getrusage counts) and % of a core', () => {
  const first = procSample(process.pid);
  const used = burn(300);
  const last = procSample(process.pid);
  const d = procDelta(first, last);
  assert.ok(last.ticks >= first.ticks);
  assert.ok(d.wallS > 0 && d.wallS < 30, `wall ${d.wallS}`);
  // The same CPU as getrusage counts, to a few ticks (10 ms each) at either end.
  assert.ok(Math.abs(d.cpuS - used) <= 5 / TICKS_PER_S, `cpu ${d.cpuS} s, getrusage ${used} s`);
  assert.equal(d.cpuPercent, (d.cpuS / d.wallS) * 100);
  assert.ok(last.switches >= first.switches && d.switchesPerS >= 0);
  assert.ok(first.rssKb > 1024, `RSS ${first.rssKb} kB`);
});

test('procStat reads the command name (past spaces and parentheses) and the four CPU fields', () => {
  const s = procStat(process.pid);
  assert.equal(s.comm, readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim());
  for (const v of [s.utime, s.stime, s.cutime, s.cstime]) assert.ok(Number.isInteger(v) && v >= 0);
  assert.ok(allProcesses().some((p) => p.pid === process.pid && p.stat.comm === s.comm));
});

test('statusKb: VmHWM is at least VmRSS; a missing field is 0', () => {
  const rss = statusKb(process.pid, 'VmRSS');
  // Read after: the peak so far includes the resident set read before.
  assert.ok(statusKb(process.pid, 'VmHWM') >= rss);
  assert.equal(statusKb(process.pid, 'NoSuchField'), 0);
});

test('threadCpuSeconds: the main thread holds what it spun; contextSwitches counts', () => {
  const before = threadCpuSeconds(process.pid);
  burn(200);
  const after = threadCpuSeconds(process.pid);
  assert.ok(after.main >= before.main + 0.05, `${before.main} → ${after.main}`);
  assert.ok(after.others.length >= 1, 'node runs other threads (V8, libuv)');
  assert.ok(contextSwitches(process.pid) > 0);
  // The run queue: a count that only grows, in seconds (0 without the kernel's schedstat).
  const queued = runQueueSeconds(process.pid);
  assert.ok(Number.isFinite(queued) && queued >= 0, String(queued));
  burn(50);
  assert.ok(runQueueSeconds(process.pid) >= queued);
  assert.equal(runQueueSeconds(process.pid, 2 ** 30), 0, 'no such thread');
  assert.ok(machineBusySeconds() > 0);
});
