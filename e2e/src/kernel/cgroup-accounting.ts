import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kernel's own account of containers, read straight from cgroupfs by the test itself (not
 * through the collector's readers): CPU from `cpuacct.usage` (v1) or `cpu.stat usage_usec` (v2),
 * memory as the working set — usage minus inactive file cache — the figure the product meters.
 * Handles v1, hybrid (v1 controllers win, as Docker's cgroupfs driver uses them) and v2 hosts.
 */
export class CgroupAccounting {
  private constructor(
    /** Mount point of the hierarchy with cpuacct (v1) or the unified one (v2). */
    private readonly cpu: { readonly version: 1 | 2; readonly mount: string },
    private readonly memory: { readonly version: 1 | 2; readonly mount: string },
    /** Every cgroup mount, to remove a parent from all of them. */
    private readonly mounts: readonly string[],
  ) {}

  static detect(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupAccounting {
    const v1 = new Map<string, string>();
    let unified: string | null = null;
    const all: string[] = [];
    for (const line of mountinfo.split('\n')) {
      const [left, right] = line.split(' - ');
      if (left === undefined || right === undefined) continue;
      const mountPoint = left.split(' ')[4];
      const [fsType, , superOptions = ''] = right.split(' ');
      if (mountPoint === undefined) continue;
      if (fsType === 'cgroup2') {
        unified = mountPoint;
        all.push(mountPoint);
      } else if (fsType === 'cgroup') {
        all.push(mountPoint);
        for (const option of superOptions.split(',')) v1.set(option, mountPoint);
      }
    }
    const pick = (controller: string): { version: 1 | 2; mount: string } => {
      const mount = v1.get(controller);
      if (mount !== undefined) return { version: 1, mount };
      if (unified !== null) return { version: 2, mount: unified };
      throw new Error(`no cgroup hierarchy with ${controller} and no cgroup2 mount`);
    };
    return new CgroupAccounting(pick('cpuacct'), pick('memory'), all);
  }

  /** Cumulative CPU of a cgroup (hierarchical: exited children included), in ns. */
  cpuUsageNs(cgroupPath: string): bigint {
    const dir = join(this.cpu.mount, cgroupPath);
    if (this.cpu.version === 1)
      return BigInt(readFileSync(join(dir, 'cpuacct.usage'), 'utf8').trim());
    const stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
    const usec = /^usage_usec (\d+)$/m.exec(stat)?.[1];
    if (usec === undefined) throw new Error(`${dir}/cpu.stat has no usage_usec`);
    return BigInt(usec) * 1000n;
  }

  /** Working set of a cgroup in bytes, or null once the cgroup is gone. */
  workingSetBytes(cgroupPath: string): number | null {
    const dir = join(this.memory.mount, cgroupPath);
    try {
      const usageFile = this.memory.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
      const usage = Number(readFileSync(join(dir, usageFile), 'utf8').trim());
      const stat = readFileSync(join(dir, 'memory.stat'), 'utf8');
      const key = this.memory.version === 1 ? 'total_inactive_file' : 'inactive_file';
      const inactive = Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
      return Math.max(0, usage - inactive);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Removes an (empty) cgroup from every hierarchy that has it; cgroupfs leaves parents behind. */
  removeEmpty(cgroupPath: string): void {
    for (const mount of this.mounts) {
      const dir = join(mount, cgroupPath);
      if (existsSync(dir)) rmdirSync(dir);
    }
  }
}
