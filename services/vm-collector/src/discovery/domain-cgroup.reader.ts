import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** A file that may hold a domain's CPU time, and its format. */
export interface CpuCounterFile {
  readonly path: string;
  /** cgroup v2 `cpu.stat` (usage_usec) or v1 `cpuacct.usage` (ns). */
  readonly format: 'cpu.stat' | 'cpuacct.usage';
}

export interface DomainCgroupReaderOptions {
  /** The host's /proc. */
  readonly procDir: string;
  /** Where the cgroup hierarchies are mounted (/sys/fs/cgroup). */
  readonly cgroupRoot: string;
}

/** Below libvirt's figure by this much still agrees: cpuTime reaches us as a double. */
const BELOW_NS = 1_000_000n;
/** Enough for a cpu.stat of cgroup v2 with every controller (about 400 bytes). */
const buffer = Buffer.allocUnsafe(4096);
const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;
const USAGE_USEC = Buffer.from('usage_usec ');
/** 10^19 µs is 300,000 years: more digits than that are not a counter. */
const MAX_DIGITS = 19;

interface Held {
  readonly pid: number;
  readonly fd: number;
  readonly format: CpuCounterFile['format'];
}

/**
 * A running domain's CPU time from its cgroup, the counter libvirt itself reads for `cpuTime`
 * (qemuDomainGetInfo, `cpu.time` of domstats), instead of a libvirt call per domain and sample.
 * libvirt puts QEMU's threads in `<domain cgroup>/emulator` and `vcpuN`; the domain cgroup is
 * found from /proc/<pid>/cgroup of the QEMU process. A counter is used only once it agreed with
 * libvirt's own figure (verify(), at every libvirt read of the domain's info): a layout this
 * reader does not know is never taken for the domain's CPU. The agreeing file is held open and
 * re-read with one pread(2) (the kernel makes its content afresh), synchronously: microseconds.
 * Keys are one boot of one domain (name + libvirt id); what is not retained is closed.
 */
export class DomainCgroupReader {
  private readonly held = new Map<string, Held>();
  /** Boots whose counters disagreed with libvirt (or had none): not tried again. */
  private readonly refused = new Set<string>();

  constructor(private readonly options: DomainCgroupReaderOptions) {}

  /**
   * After libvirt answered `libvirtNs` for the boot `key` of QEMU process `pid`: whether a
   * cgroup counter read now agrees with it — not below it, and above it by at most
   * `toleranceNs` (what the domain may have run since libvirtd read it). The agreeing counter is
   * held for read(); one that stops agreeing is dropped, and the boot answered by libvirt.
   */
  verify(key: string, pid: number, libvirtNs: bigint, toleranceNs: bigint): boolean {
    if (this.refused.has(key)) return false;
    const agrees = (ns: bigint | null): boolean =>
      ns !== null && ns >= libvirtNs - BELOW_NS && ns <= libvirtNs + toleranceNs;
    const current = this.held.get(key);
    if (current !== undefined && current.pid === pid) {
      if (agrees(readHeld(current))) return true;
      this.refuse(key);
      return false;
    }
    if (current !== undefined) this.drop(key);
    for (const candidate of this.candidates(pid)) {
      let fd: number;
      try {
        fd = openSync(candidate.path, 'r');
      } catch {
        continue;
      }
      const held = { pid, fd, format: candidate.format };
      if (agrees(readHeld(held))) {
        this.held.set(key, held);
        return true;
      }
      closeQuietly(fd);
    }
    this.refused.add(key);
    return false;
  }

  /** The verified counter of `key` now, in ns; null: none, or unreadable (then dropped). */
  read(key: string): bigint | null {
    const held = this.held.get(key);
    if (held === undefined) return null;
    const ns = readHeld(held);
    if (ns === null) this.drop(key);
    return ns;
  }

  /** Closes the counters of the boots not in `keys`, and forgets their refusals. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.held.keys()) if (!keys.has(key)) this.drop(key);
    for (const key of this.refused) if (!keys.has(key)) this.refused.delete(key);
  }

  get heldCount(): number {
    return this.held.size;
  }

  close(): void {
    for (const key of [...this.held.keys()]) this.drop(key);
  }

  private candidates(pid: number): CpuCounterFile[] {
    let text: string;
    try {
      text = readFileSync(join(this.options.procDir, String(pid), 'cgroup'), 'utf8');
    } catch {
      return [];
    }
    return cpuCounterCandidates(text, this.options.cgroupRoot);
  }

  private refuse(key: string): void {
    this.drop(key);
    this.refused.add(key);
  }

  private drop(key: string): void {
    const held = this.held.get(key);
    if (held === undefined) return;
    this.held.delete(key);
    closeQuietly(held.fd);
  }
}

/**
 * The files that may count a domain's CPU, from its QEMU process's /proc/<pid>/cgroup
 * (`hierarchy:controllers:path` lines): the process sits in the domain cgroup's `emulator` (or
 * a `vcpuN`) child, so the parent is the domain's. cgroup v2 first (`0::`: cpu.stat under the
 * unified mount, /sys/fs/cgroup or, on a hybrid host, /sys/fs/cgroup/unified), then v1's
 * cpuacct. A path of `/` (not placed) or with `..` gives no candidate.
 */
export function cpuCounterCandidates(procCgroup: string, cgroupRoot: string): CpuCounterFile[] {
  const v2: CpuCounterFile[] = [];
  const v1: CpuCounterFile[] = [];
  for (const line of procCgroup.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second).split(',');
    const dir = domainDir(line.slice(second + 1));
    if (dir === null) continue;
    if (line.slice(0, first) === '0' && controllers.length === 1 && controllers[0] === '') {
      v2.push({ path: join(cgroupRoot, dir, 'cpu.stat'), format: 'cpu.stat' });
      v2.push({ path: join(cgroupRoot, 'unified', dir, 'cpu.stat'), format: 'cpu.stat' });
    } else if (controllers.includes('cpuacct')) {
      const mount = controllers.filter((c) => !c.startsWith('name=')).join(',');
      v1.push({ path: join(cgroupRoot, mount, dir, 'cpuacct.usage'), format: 'cpuacct.usage' });
    }
  }
  return [...v2, ...v1];
}

/** The domain cgroup of a QEMU thread's cgroup path; null if not placed or not a plain path. */
function domainDir(path: string): string | null {
  if (!path.startsWith('/') || path.split('/').includes('..')) return null;
  const parts = path.split('/').filter((p) => p !== '');
  const last = parts.at(-1);
  if (last !== undefined && (last === 'emulator' || /^vcpu\d+$/.test(last))) parts.pop();
  return parts.length === 0 ? null : parts.join('/');
}

/** The counter's value in ns, read with one pread at offset 0; null if unreadable or not one. */
function readHeld(held: Held): bigint | null {
  let length: number;
  try {
    length = readSync(held.fd, buffer, 0, buffer.length, 0);
  } catch {
    return null;
  }
  return held.format === 'cpu.stat'
    ? parseCpuStatUsageNs(buffer.subarray(0, length))
    : parseCpuacctUsageNs(buffer.subarray(0, length));
}

/** cgroup v2 cpu.stat: the `usage_usec N` line, in ns; null when absent or not a number. */
export function parseCpuStatUsageNs(bytes: Uint8Array): bigint | null {
  let at = 0;
  while (at < bytes.length) {
    if (startsWith(bytes, at, USAGE_USEC)) {
      const usec = digitsAt(bytes, at + USAGE_USEC.length);
      return usec === null ? null : usec * 1000n;
    }
    const end = bytes.indexOf(NEWLINE, at);
    if (end < 0) return null;
    at = end + 1;
  }
  return null;
}

/** cgroup v1 cpuacct.usage: one number of ns; null when not one. */
export function parseCpuacctUsageNs(bytes: Uint8Array): bigint | null {
  return digitsAt(bytes, 0);
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** The decimal number at `at`, ended by a newline or the end; null if anything else. */
function digitsAt(bytes: Uint8Array, at: number): bigint | null {
  let value = 0;
  let digits = 0;
  let i = at;
  for (; i < bytes.length && bytes[i] !== NEWLINE; i += 1) {
    const d = (bytes[i] ?? 0) - DIGIT_0;
    if (d < 0 || d > 9 || digits === MAX_DIGITS) return null;
    digits += 1;
    // Exact while below 2^53; the rare larger counter is parsed again as a BigInt below.
    value = value * 10 + d;
  }
  if (digits === 0) return null;
  if (Number.isSafeInteger(value)) return BigInt(value);
  return BigInt(Buffer.from(bytes.buffer, bytes.byteOffset + at, digits).toString('latin1'));
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already unusable: nothing more to release
  }
}
