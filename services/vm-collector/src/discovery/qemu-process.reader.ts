import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type QemuProcessFacts } from '../sampling';

/**
 * Linux's USER_HZ: the unit of the start time in /proc/<pid>/stat. Fixed at 100 by the
 * kernel ABI on every architecture a KVM host runs (x86-64, arm64, ppc64le, s390x).
 */
const CLOCK_TICKS_PER_SECOND = 100;

export interface QemuProcessReaderOptions {
  /** libvirt's QEMU run directory, holding `<domain name>.pid` (qemu:///system). */
  readonly runDir: string;
  /** The host's /proc. */
  readonly procDir: string;
}

interface KnownProcess {
  readonly pid: number;
  readonly bootKey: string;
  readonly startedAt: Date;
  /** The memory of the last read of /proc/<pid>/status; reused by reads that do not refresh. */
  memoryBytes?: number | null;
}

/**
 * Facts about a local domain's QEMU process, from files only (no libvirt call):
 * `<runDir>/<name>.pid`, then /proc/<pid>/stat (start time), /proc/<pid>/cmdline (that it
 * is this domain's QEMU: `-uuid <uuid>`) and /proc/<pid>/status (memory, every read).
 * What is fixed for the life of the process is cached per domain name and libvirt id.
 */
export class QemuProcessReader {
  private readonly known = new Map<string, KnownProcess>();
  private host: Promise<{ bootId: string; bootTimeMs: number }> | undefined;

  constructor(private readonly options: QemuProcessReaderOptions) {}

  /**
   * null when the process is not (yet, or any more) readable. Never throws. `refresh: false`
   * answers a known process from memory (its memory as of the last refresh): the polls between
   * two samples need no file read.
   */
  async read(
    name: string,
    uuid: string,
    domainId: number,
    { refresh = true }: { refresh?: boolean } = {},
  ): Promise<QemuProcessFacts | null> {
    const key = `${name}\n${domainId}`;
    try {
      let process = this.known.get(key) ?? null;
      if (process === null) {
        process = await this.identify(name, uuid);
        if (process === null) return null;
        this.known.set(key, process);
      } else if (!refresh && process.memoryBytes !== undefined) {
        return {
          pid: process.pid,
          bootKey: process.bootKey,
          startedAt: process.startedAt,
          memoryBytes: process.memoryBytes,
        };
      }
      // Read at every sample of every domain: synchronously, as a /proc file is made in memory
      // by the kernel on read (microseconds); through the thread pool it cost a round of hops
      // (open, stat, read, close) and a wake-up each.
      const status = readFileSync(join(this.options.procDir, String(process.pid), 'status'));
      process.memoryBytes = parseStatusMemory(status.toString('utf8'));
      return {
        pid: process.pid,
        bootKey: process.bootKey,
        startedAt: process.startedAt,
        memoryBytes: process.memoryBytes,
      };
    } catch {
      // The process ended (or is not started yet): facts are read afresh next time.
      this.known.delete(key);
      return null;
    }
  }

  /** Drops cached processes of domains not in `live` (keys: name + libvirt id). */
  retain(live: ReadonlyArray<{ name: string; domainId: number }>): void {
    const keep = new Set(live.map((d) => `${d.name}\n${d.domainId}`));
    for (const key of this.known.keys()) if (!keep.has(key)) this.known.delete(key);
  }

  private async identify(name: string, uuid: string): Promise<KnownProcess | null> {
    const pidText = await readFile(join(this.options.runDir, `${name}.pid`), 'utf8');
    const pid = Number(pidText.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return null;
    const procDir = join(this.options.procDir, String(pid));
    // A stale pid file may name another process now: it must be QEMU with this uuid.
    const cmdline = (await readFile(join(procDir, 'cmdline'), 'utf8')).split('\0');
    const uuidAt = cmdline.indexOf('-uuid');
    if (uuidAt < 0 || cmdline[uuidAt + 1]?.toLowerCase() !== uuid.toLowerCase()) return null;
    const { startTicks } = parseProcStat(await readFile(join(procDir, 'stat'), 'utf8'));
    const host = await this.hostFacts();
    return {
      pid,
      bootKey: `${host.bootId}:${startTicks}`,
      startedAt: new Date(host.bootTimeMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND),
    };
  }

  /** Read once: a clock step later moves btime, and startedAt must stay put per process. */
  private hostFacts(): Promise<{ bootId: string; bootTimeMs: number }> {
    this.host ??= (async () => {
      const [bootId, stat] = await Promise.all([
        readFile(join(this.options.procDir, 'sys/kernel/random/boot_id'), 'utf8'),
        readFile(join(this.options.procDir, 'stat'), 'utf8'),
      ]);
      return { bootId: bootId.trim(), bootTimeMs: parseBootTime(stat) * 1000 };
    })();
    // A failure is not cached: the next read tries again.
    this.host.catch(() => (this.host = undefined));
    return this.host;
  }
}

/**
 * /proc/<pid>/stat: `pid (comm) state ppid … starttime(22) …`. comm may hold spaces and
 * parentheses, so fields are counted after the last ')'.
 */
export function parseProcStat(text: string): { startTicks: number } {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('proc stat: no command name');
  // After ')' come fields 3 (state) onwards; starttime is field 22.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const startTicks = Number(fields[22 - 3]);
  if (!Number.isSafeInteger(startTicks) || startTicks < 0) {
    throw new Error('proc stat: no start time');
  }
  return { startTicks };
}

/** /proc/stat's `btime`: the boot time in seconds since the epoch. */
export function parseBootTime(text: string): number {
  const match = /^btime\s+(\d+)$/m.exec(text);
  if (match?.[1] === undefined) throw new Error('proc stat: no btime');
  return Number(match[1]);
}

/**
 * Host memory a process holds, from /proc/<pid>/status: VmRSS (resident pages) plus
 * HugetlbPages (guest memory backed by huge pages is not in VmRSS). These are the figures
 * libvirt's own `rss` memory stat is read from. null when VmRSS is missing (a zombie).
 */
export function parseStatusMemory(text: string): number | null {
  const kib = (field: string): number | null => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match?.[1] === undefined ? null : Number(match[1]);
  };
  const rss = kib('VmRSS');
  if (rss === null) return null;
  return (rss + (kib('HugetlbPages') ?? 0)) * 1024;
}
