// Watching processes over a window, for the benches that compare what processes cost: CPU-seconds,
// context switches per second (the wake-ups) and peak RSS, read from /proc by libs/testing's
// proc-stats (the one reader every bench shares); and the helpers around it: find a daemon's pid,
// start and stop a process with its output kept in a log, run a task on a fixed schedule.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { procDelta, procSample } from '@metering/testing';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The oldest process called exactly `name`; throws when none runs. */
export function pidOf(name) {
  const out = spawnSync('pgrep', ['-xo', name], { encoding: 'utf8' });
  const pid = Number(out.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`${name} is not running (start the stack's infrastructure)`);
  return pid;
}

/**
 * Watches `pids` over `seconds` (while `during` runs, if given): CPU-seconds, context switches/s
 * and peak RSS of each, RSS sampled every second.
 */
export async function watch(pids, seconds, during) {
  const first = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procSample(pid)]));
  const peak = Object.fromEntries(Object.entries(first).map(([k, s]) => [k, s.rssKb]));
  const end = performance.now() + seconds * 1000;
  const work = during?.(end);
  while (performance.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - performance.now())));
    for (const [k, pid] of Object.entries(pids)) {
      try {
        peak[k] = Math.max(peak[k], procSample(pid).rssKb);
      } catch {
        // gone: reported below
      }
    }
  }
  await work;
  const result = {};
  for (const [k, pid] of Object.entries(pids)) {
    const d = procDelta(first[k], procSample(pid));
    result[k] = {
      cpuS: d.cpuS,
      switchesPerS: d.switchesPerS,
      peakRssMb: peak[k] / 1024,
      wallS: d.wallS,
    };
  }
  return result;
}

/** A daemon's CPU-seconds in a watched window above what it used in its `idle` window. */
export const aboveIdle = (idle) => (w) => Math.max(0, w.cpuS - (idle.cpuS * w.wallS) / idle.wallS);

/** Starts `command`; its stdout and stderr go to the file `log` when it exits. */
export function startProcess(command, args, log) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = [];
  child.stdout.on('data', (c) => chunks.push(c));
  child.stderr.on('data', (c) => chunks.push(c));
  child.on('exit', () => writeFileSync(log, Buffer.concat(chunks)));
  return child;
}

/** SIGTERM, SIGKILL after 10 s; resolves when it has exited. */
export async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Runs `task` now and every `intervalS` after, on a fixed schedule, while before `end`. */
export async function every(end, intervalS, task) {
  for (let at = performance.now(); at < end; at += intervalS * 1000) {
    await sleep(Math.max(0, at - performance.now()));
    await task();
  }
}
