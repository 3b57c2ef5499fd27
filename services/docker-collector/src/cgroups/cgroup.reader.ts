import { join } from 'node:path';
import { CgroupReadError, CgroupVanishedError } from './cgroup.errors';
import { type CgroupMounts, type ProcessCgroups } from './cgroup-mounts';
import { type CgroupLimits, type CgroupStats, type CgroupUsage } from './cgroup-stats';
import { countCpuSet } from './cpu-set';
import { ScratchBuffer } from './file-bytes';
import {
  flatKeyedBytes,
  flatKeyedValue,
  keyBytes,
  parseBigInt,
  parseBigIntBytes,
} from './cgroup-values';

/** The directories holding one container's cgroup files. */
export type CgroupLocation =
  | {
      readonly version: 'v1';
      readonly cpuacct: string;
      readonly memory: string;
      readonly cpu: string | null;
      readonly cpuset: string | null;
    }
  | { readonly version: 'v2'; readonly dir: string };

/**
 * Where a process's cgroup files are. Hybrid hosts (v1 controllers plus an empty unified tree)
 * account CPU and memory in v1, so v1 wins whenever its cpuacct and memory controllers are mounted.
 */
export function locateCgroup(mounts: CgroupMounts, proc: ProcessCgroups): CgroupLocation | null {
  const v1Dir = (controller: string): string | null => {
    const mount = mounts.v1.get(controller);
    const path = proc.v1.get(controller);
    return mount === undefined || path === undefined ? null : join(mount, path);
  };
  const cpuacct = v1Dir('cpuacct');
  const memory = v1Dir('memory');
  if (cpuacct !== null && memory !== null) {
    return { version: 'v1', cpuacct, memory, cpu: v1Dir('cpu'), cpuset: v1Dir('cpuset') };
  }
  if (mounts.v2 !== null && proc.v2 !== null)
    return { version: 'v2', dir: join(mounts.v2, proc.v2) };
  return null;
}

/**
 * Reads one file whole, synchronously. cgroup files are kernel-generated and answer in
 * microseconds; the thread-pool round trip of fs/promises costs more than the read itself, and
 * so does a promise per file, which matters when a cycle reads thousands of them
 * (bench/collector-scale, bench/process-scale).
 */
export type FileReader = ((path: string) => string) & {
  /**
   * The same read as bytes, when the reader offers it: what is parsed for one value (memory.stat,
   * ~40 lines of which one is needed) is then never decoded into a string. The buffer may be the
   * reader's own, valid until its next read.
   */
  readonly bytes?: (path: string) => Buffer;
};

const byPath = new ScratchBuffer();

/**
 * Reads by path (open, pread, close) into one shared buffer: `bytes` is a view of it, valid
 * until the next read; the text is the same as readFileSync's.
 */
export const syncFileReader: FileReader = Object.assign(
  (path: string) => byPath.readPath(path).toString('utf8'),
  { bytes: (path: string) => byPath.readPath(path) },
);

/** v1 reports "no limit" as a page-aligned LONG_MAX; anything this large is unlimited. */
const UNLIMITED_BYTES = 1n << 62n;

/** The files of one location, joined once (a location is kept per container instance). */
interface LocationFiles {
  readonly cpuUsage: string;
  readonly memoryUsage: string;
  readonly memoryStat: string;
  readonly memoryLimit: string;
  readonly cpuQuota: string | null;
  readonly cpuPeriod: string | null;
  readonly cpuset: string | null;
}

function filesOf(location: CgroupLocation): LocationFiles {
  if (location.version === 'v1') {
    const { cpuacct, memory, cpu, cpuset } = location;
    return {
      cpuUsage: join(cpuacct, 'cpuacct.usage'),
      memoryUsage: join(memory, 'memory.usage_in_bytes'),
      memoryStat: join(memory, 'memory.stat'),
      memoryLimit: join(memory, 'memory.limit_in_bytes'),
      cpuQuota: cpu === null ? null : join(cpu, 'cpu.cfs_quota_us'),
      cpuPeriod: cpu === null ? null : join(cpu, 'cpu.cfs_period_us'),
      cpuset: cpuset === null ? null : join(cpuset, 'cpuset.cpus'),
    };
  }
  const { dir } = location;
  return {
    cpuUsage: join(dir, 'cpu.stat'),
    memoryUsage: join(dir, 'memory.current'),
    memoryStat: join(dir, 'memory.stat'),
    memoryLimit: join(dir, 'memory.max'),
    cpuQuota: join(dir, 'cpu.max'),
    cpuPeriod: null,
    cpuset: join(dir, 'cpuset.cpus.effective'),
  };
}

/**
 * Reads CPU and memory accounting straight from the cgroup files: microseconds per container,
 * where the Docker stats API costs about a second.
 */
export class CgroupReader {
  private readonly files = new WeakMap<CgroupLocation, LocationFiles>();

  constructor(
    /** CPUs on the host: a cpuset covering all of them is no limit. */
    private readonly hostCpuCount: number,
    /** Files read every cycle (usage; a parent's CPU counter). */
    private readonly read: FileReader = syncFileReader,
    /**
     * Files read only for limits (at discovery, on `update`, every few cycles). Given apart so
     * that held files (HeldFileReader) go to the files read every cycle, not to these.
     */
    private readonly readRarely: FileReader = read,
  ) {}

  /** The location's file paths, joined on its first reading. */
  private filesOf(location: CgroupLocation): LocationFiles {
    let files = this.files.get(location);
    if (files === undefined) {
      files = filesOf(location);
      this.files.set(location, files);
    }
    return files;
  }

  readStats(location: CgroupLocation): Promise<CgroupStats> {
    return settled(() => ({ ...this.readUsageSync(location), ...this.readLimitsSync(location) }));
  }

  /** What changes between readings: CPU counter and memory. Three small files. */
  readUsage(location: CgroupLocation): Promise<CgroupUsage> {
    return settled(() => this.readUsageSync(location));
  }

  /** What changes only on `docker update`: memory and CPU limits. */
  readLimits(location: CgroupLocation): Promise<CgroupLimits> {
    return settled(() => this.readLimitsSync(location));
  }

  /** readUsage without a promise (the files are read synchronously anyway). */
  readUsageSync(location: CgroupLocation): CgroupUsage {
    const files = this.filesOf(location);
    return location.version === 'v1'
      ? this.readUsageV1(location, files)
      : this.readUsageV2(location.dir, files);
  }

  /** readLimits without a promise. */
  readLimitsSync(location: CgroupLocation): CgroupLimits {
    const files = this.filesOf(location);
    return location.version === 'v1'
      ? this.readLimitsV1(location, files)
      : this.readLimitsV2(location.dir, files);
  }

  /**
   * Only the cumulative CPU counter: what a parent cgroup is read for. Hierarchical on v1 and
   * v2 alike, so a parent's counter keeps the CPU time of children that have exited.
   */
  readCpuUsageNs(location: CgroupLocation): Promise<bigint> {
    return settled(() => {
      const files = this.filesOf(location);
      if (location.version === 'v1') {
        return this.requiredInt(files.cpuUsage, files.cpuUsage);
      }
      return this.readCpuStatV2(files.cpuUsage);
    });
  }

  private readUsageV1(
    loc: Extract<CgroupLocation, { version: 'v1' }>,
    files: LocationFiles,
  ): CgroupUsage {
    const cpuUsageNs = this.requiredInt(files.cpuUsage, loc.cpuacct);
    const usage = this.requiredInt(files.memoryUsage, loc.memory);
    // Hierarchical total first (a container's own cgroup has no children, but be exact).
    const inactiveFile = this.statValue(files.memoryStat, 'total_inactive_file', 'inactive_file');
    return {
      cpuUsageNs,
      memoryUsageBytes: Number(usage),
      memoryWorkingSetBytes: Number(usage > inactiveFile ? usage - inactiveFile : 0n),
    };
  }

  private readLimitsV1(
    loc: Extract<CgroupLocation, { version: 'v1' }>,
    files: LocationFiles,
  ): CgroupLimits {
    const limit = this.requiredInt(files.memoryLimit, loc.memory, this.readRarely);
    let quotaCores: number | null = null;
    if (files.cpuQuota !== null && files.cpuPeriod !== null) {
      const quota = this.optional(files.cpuQuota, this.readRarely);
      const period = this.optional(files.cpuPeriod, this.readRarely);
      quotaCores = coresFromQuota(quota.trim(), period.trim());
    }
    const cpusetCores =
      files.cpuset === null ? null : this.cpusetLimit(this.optional(files.cpuset, this.readRarely));
    return {
      memoryLimitBytes: limit >= UNLIMITED_BYTES ? null : Number(limit),
      cpuLimitCores: minLimit(quotaCores, cpusetCores),
    };
  }

  private readCpuStatV2(cpuStatPath: string): bigint {
    const cpuStat = parseFlatKeyed(this.required(cpuStatPath));
    const usageUsec = cpuStat.get('usage_usec');
    if (usageUsec === undefined) throw new CgroupReadError(cpuStatPath, 'no usage_usec');
    return usageUsec * 1000n;
  }

  private readUsageV2(dir: string, files: LocationFiles): CgroupUsage {
    const cpuUsageNs = this.readCpuStatV2(files.cpuUsage);
    const usage = this.requiredInt(files.memoryUsage, dir);
    const inactiveFile = this.statValue(files.memoryStat, 'inactive_file');
    return {
      cpuUsageNs,
      memoryUsageBytes: Number(usage),
      memoryWorkingSetBytes: Number(usage > inactiveFile ? usage - inactiveFile : 0n),
    };
  }

  private readLimitsV2(dir: string, files: LocationFiles): CgroupLimits {
    const max = this.required(files.memoryLimit, this.readRarely).trim();
    const cpuMax = this.optional(files.cpuQuota ?? '', this.readRarely)
      .trim()
      .split(/\s+/);
    const quotaCores = coresFromQuota(cpuMax[0] ?? 'max', cpuMax[1] ?? '100000');
    const cpuset = this.optional(files.cpuset ?? '', this.readRarely);
    return {
      memoryLimitBytes: max === 'max' ? null : Number(parseBigInt(max, dir)),
      cpuLimitCores: minLimit(quotaCores, this.cpusetLimit(cpuset)),
    };
  }

  /**
   * The first of `keys` a flat-keyed file (memory.stat) has, 0 when none (or no file). Read as
   * bytes when the reader can: no string of the whole file per container per cycle.
   */
  private statValue(path: string, ...keys: string[]): bigint {
    const bytes = this.read.bytes;
    if (bytes === undefined) {
      const text = this.optional(path);
      for (const key of keys) {
        const value = flatKeyedValue(text, key);
        if (value !== undefined) return value;
      }
      return 0n;
    }
    let data: Buffer;
    try {
      data = bytes(path);
    } catch (error) {
      if (isNotFound(error)) return 0n;
      throw new CgroupReadError(path, error instanceof Error ? error.message : String(error));
    }
    for (const key of keys) {
      const value = flatKeyedBytes(data, keyBytes(key));
      if (value !== undefined) return value;
    }
    return 0n;
  }

  private cpusetLimit(list: string): number | null {
    if (list.trim() === '') return null;
    const n = countCpuSet(list);
    return n > 0 && n < this.hostCpuCount ? n : null;
  }

  /** A file every cgroup of this kind has: its absence means the cgroup is gone. */
  private required(path: string, read: FileReader = this.read): string {
    try {
      return read(path);
    } catch (error) {
      if (isNotFound(error)) throw new CgroupVanishedError(path);
      throw new CgroupReadError(path, error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * A required file holding one non-negative integer, parsed from its bytes when the reader
   * offers them (no string per file per container per cycle): parseBigInt's answers.
   */
  private requiredInt(path: string, where: string, read: FileReader = this.read): bigint {
    const bytes = read.bytes;
    if (bytes === undefined) return parseBigInt(this.required(path, read), where);
    let data: Buffer;
    try {
      data = bytes(path);
    } catch (error) {
      if (isNotFound(error)) throw new CgroupVanishedError(path);
      throw new CgroupReadError(path, error instanceof Error ? error.message : String(error));
    }
    return parseBigIntBytes(data, where);
  }

  /** A file that depends on the kernel's configuration (e.g. no CFS bandwidth control): empty when absent. */
  private optional(path: string, read: FileReader = this.read): string {
    try {
      return read(path);
    } catch (error) {
      if (isNotFound(error)) return '';
      throw new CgroupReadError(path, error instanceof Error ? error.message : String(error));
    }
  }
}

/** A synchronous reading as a promise: what it throws, it rejects with. */
function settled<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // ENODEV: reading a file of a cgroup being removed.
  return code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH';
}

/** "key value" lines (cpu.stat, memory.stat). Non-numeric values are skipped. */
function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value && /^\d+$/.test(value)) out.set(key, BigInt(value));
  }
  return out;
}

function coresFromQuota(quota: string, period: string): number | null {
  if (quota === '' || quota === 'max' || quota.startsWith('-')) return null;
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
  return q / p;
}

function minLimit(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
