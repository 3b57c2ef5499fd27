import { posix } from 'node:path';
import { type CgroupMounts, type ProcessCgroups } from './cgroup-mounts';
import { type CgroupLocation, locateCgroup } from './cgroup.reader';

/** How the engine names cgroups (`docker info` → CgroupDriver). */
export type CgroupDriver = 'cgroupfs' | 'systemd';

/**
 * The cgroup path a container gets from the engine, derived from its id and
 * HostConfig.CgroupParent — for when its process is gone or /proc is not ours to read.
 *
 * cgroupfs: `<parent or /docker>/<id>`. systemd: the parent is a slice (default
 * system.slice) whose dashes nest (`metering-acme.slice` lives in `metering.slice`), and the
 * container is the scope `docker-<id>.scope` in it.
 */
export function containerCgroupPath(
  driver: CgroupDriver,
  cgroupParent: string,
  containerId: string,
): string {
  if (driver === 'systemd') {
    const slice = cgroupParent === '' ? 'system.slice' : cgroupParent;
    return posix.join(expandSystemdSlice(slice), `docker-${containerId}.scope`);
  }
  const parent = cgroupParent === '' ? '/docker' : cgroupParent;
  return posix.join('/', parent, containerId);
}

/** `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice` (systemd.slice(5)); `-.slice` is the root. */
export function expandSystemdSlice(slice: string): string {
  if (!slice.endsWith('.slice')) throw new Error(`not a systemd slice name: "${slice}"`);
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-' || name === '') return '/';
  const parts = name.split('-');
  if (parts.some((p) => p === '')) throw new Error(`invalid systemd slice name: "${slice}"`);
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i += 1) out.push(`${parts.slice(0, i).join('-')}.slice`);
  return `/${out.join('/')}`;
}

/** The location of a cgroup known by its path (the same path in every mounted hierarchy). */
export function locateCgroupPath(mounts: CgroupMounts, path: string): CgroupLocation | null {
  const v1 = new Map<string, string>();
  for (const controller of mounts.v1.keys()) v1.set(controller, path);
  return locateCgroup(mounts, { v1, v2: path });
}

/**
 * The path a process's usage is accounted under: the cpuacct hierarchy on v1 (or hybrid)
 * hosts, the unified one on v2. Null when neither is known.
 */
export function accountingPath(mounts: CgroupMounts, proc: ProcessCgroups): string | null {
  const location = locateCgroup(mounts, proc);
  if (location === null) return null;
  return location.version === 'v1' ? (proc.v1.get('cpuacct') ?? null) : proc.v2;
}

/** The parent cgroup path ("/metering/acme/<id>" → "/metering/acme"); null for the root. */
export function parentCgroupPath(path: string): string | null {
  const normal = posix.normalize(path);
  if (normal === '/' || normal === '.') return null;
  return posix.dirname(normal.replace(/\/+$/, ''));
}

/** The same location one level up: where a container's parent cgroup accounts its children. */
export function parentLocation(location: CgroupLocation): CgroupLocation {
  const up = (dir: string): string => posix.dirname(dir);
  if (location.version === 'v2') return { version: 'v2', dir: up(location.dir) };
  return {
    version: 'v1',
    cpuacct: up(location.cpuacct),
    memory: up(location.memory),
    cpu: location.cpu === null ? null : up(location.cpu),
    cpuset: location.cpuset === null ? null : up(location.cpuset),
  };
}
