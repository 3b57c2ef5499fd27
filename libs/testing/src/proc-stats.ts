import { readFileSync, readdirSync } from 'node:fs';

// What a process costs, from Linux's /proc: the one reader the benches share (bench/*.mjs and
// the workspaces' bench/ folders), so that "CPU", "wake-ups" and "RSS" mean the same in each.

/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat and /proc/stat on Linux. */
export const TICKS_PER_S = 100;

/** The fields of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) the benches read. */
export interface ProcStat {
  /** The command name, as the kernel has it (at most 15 characters). */
  readonly comm: string;
  /** User and system CPU ticks of the process (all its threads; of the thread for a task). */
  readonly utime: number;
  readonly stime: number;
  /** User and system CPU ticks of its children that have ended and been waited for. */
  readonly cutime: number;
  readonly cstime: number;
}

/** /proc/<pid>/stat, or /proc/<pid>/task/<tid>/stat with `tid`. */
export function procStat(pid: number | string, tid?: number | string): ProcStat {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const text = readFileSync(path, 'utf8');
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14 to 17.
  return {
    comm: text.slice(text.indexOf('(') + 1, close),
    utime: Number(fields[11]),
    stime: Number(fields[12]),
    cutime: Number(fields[13]),
    cstime: Number(fields[14]),
  };
}

/** CPU ticks the process has used so far, all threads: utime + stime. */
export function cpuTicks(pid: number | string): number {
  const s = procStat(pid);
  return s.utime + s.stime;
}

/**
 * Context switches of the process's live threads, voluntary and not (each a thread put to sleep
 * or woken: the wake-ups), from /proc/<pid>/task/<tid>/status.
 */
export function contextSwitches(pid: number | string): number {
  let switches = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) {
        switches += Number(m[1]);
      }
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return switches;
}

/**
 * A field of /proc/<pid>/status in kB: `VmRSS` (resident set now), `VmHWM` (its peak),
 * `HugetlbPages`; 0 when the process has no such line (it has no memory left: a zombie).
 */
export function statusKb(pid: number | string, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

/** One reading of a process, to subtract from a later one. */
export interface ProcSample {
  /** CPU ticks so far, all threads (utime + stime; TICKS_PER_S a second). */
  readonly ticks: number;
  /** Context switches of its live threads so far. */
  readonly switches: number;
  /** Resident set now, in kB (VmRSS). */
  readonly rssKb: number;
  /** When it was read: performance.now(), in ms. */
  readonly at: number;
}

export function procSample(pid: number | string): ProcSample {
  const ticks = cpuTicks(pid);
  const switches = contextSwitches(pid);
  return { ticks, switches, rssKb: statusKb(pid, 'VmRSS'), at: performance.now() };
}

/** Between two readings of one process: CPU-seconds, share of one core, context switches/s. */
export function procDelta(
  first: ProcSample,
  last: ProcSample,
): { cpuS: number; cpuPercent: number; switchesPerS: number; wallS: number } {
  const wallS = (last.at - first.at) / 1000;
  const cpuS = (last.ticks - first.ticks) / TICKS_PER_S;
  return {
    cpuS,
    cpuPercent: (cpuS / wallS) * 100,
    switchesPerS: (last.switches - first.switches) / wallS,
    wallS,
  };
}

/** CPU seconds so far of the process's main thread, and of each of its other live threads. */
export function threadCpuSeconds(pid: number): {
  main: number;
  /** Of `main`, the time in the kernel (system calls: socket writes, reads, page faults). */
  mainSystem: number;
  others: number[];
} {
  const others: number[] = [];
  let main = 0;
  let mainSystem = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = procStat(pid, tid);
      const seconds = (s.utime + s.stime) / TICKS_PER_S;
      if (Number(tid) === pid) {
        main = seconds;
        mainSystem = s.stime / TICKS_PER_S;
      } else others.push(seconds);
    } catch {
      // the thread ended
    }
  }
  return { main, mainSystem, others };
}

/**
 * Seconds the thread `tid` of process `pid` (its main thread by default) has been runnable but
 * waiting for a core: the scheduler's run queue, /proc/<pid>/task/<tid>/schedstat's second field;
 * 0 where the kernel keeps no such count or the thread is gone.
 */
export function runQueueSeconds(pid: number, tid: number = pid): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1]) / 1e9 || 0;
  } catch {
    return 0;
  }
}

/** Every process now: its pid and /proc/<pid>/stat (those that end while listed are left out). */
export function allProcesses(): { pid: number; stat: ProcStat }[] {
  const out: { pid: number; stat: ProcStat }[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      out.push({ pid: Number(pid), stat: procStat(pid) });
    } catch {
      // ended
    }
  }
  return out;
}

/**
 * The machine's busy CPU seconds so far, all cores (/proc/stat's first line: user nice system
 * idle iowait irq softirq steal …; busy = all but idle and iowait).
 */
export function machineBusySeconds(): number {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0)) / TICKS_PER_S;
}
