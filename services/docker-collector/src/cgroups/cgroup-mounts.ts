/** Where the cgroup hierarchies are mounted on this host, from /proc/self/mountinfo. */
export interface CgroupMounts {
  /** cgroup v1 controller name (cpu, cpuacct, memory, cpuset, name=systemd…) → mount point. */
  readonly v1: ReadonlyMap<string, string>;
  /** The unified (v2) hierarchy mount point, if any. On hybrid hosts it has no controllers. */
  readonly v2: string | null;
}

/**
 * Parses mountinfo (proc(5)): fields up to " - " are per-mount, then fstype, source, super options.
 * Mount points have octal escapes (\040 for a space).
 */
export function parseMountInfo(text: string): CgroupMounts {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    const mountPoint = before[4];
    const fsType = after[0];
    const superOptions = after[2] ?? '';
    if (mountPoint === undefined) continue;
    const point = mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(parseInt(o, 8)),
    );
    if (fsType === 'cgroup2') {
      v2 ??= point;
    } else if (fsType === 'cgroup') {
      for (const option of superOptions.split(',')) {
        if (['rw', 'ro'].includes(option) || option.startsWith('release_agent')) continue;
        if (!v1.has(option)) v1.set(option, point);
      }
    }
  }
  return { v1, v2 };
}

/** Memberships of one process, from /proc/<pid>/cgroup: "hierarchy-id:controllers:path". */
export interface ProcessCgroups {
  readonly v1: ReadonlyMap<string, string>;
  readonly v2: string | null;
}

export function parseProcCgroup(text: string): ProcessCgroups {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (id === '0' && controllers === '') v2 = path;
    else for (const c of controllers.split(',')) if (c !== '') v1.set(c, path);
  }
  return { v1, v2 };
}
