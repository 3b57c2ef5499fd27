import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  accountingPath,
  type CgroupDriver,
  type CgroupLocation,
  type CgroupMounts,
  type CgroupReader,
  CgroupVanishedError,
  containerCgroupPath,
  locateCgroup,
  locateCgroupPath,
  parentCgroupPath,
  parentLocation,
  parseProcCgroup,
} from '../cgroups';
import { type InspectedContainer } from '../discovery/inspected-container';
import { type UsageReader, type UsageSnapshot, type UsageTarget } from './usage-reader';
import { UsageLocateError, UsageReadError, UsageVanishedError } from './usage.errors';

export interface CgroupUsageReaderOptions {
  readonly mounts: CgroupMounts;
  readonly driver: CgroupDriver;
  /** Where the host's /proc is (a collector in a container mounts it elsewhere). */
  readonly procRoot: string;
  readonly reader: CgroupReader;
}

/**
 * Reads usage straight from the container's cgroup files (microseconds per container).
 * The cgroup is resolved once per instance from /proc/<pid>/cgroup; when the process is
 * already gone (a container that lived milliseconds), from CgroupParent and the id as the
 * engine's cgroup driver names it.
 */
export class CgroupUsageReader implements UsageReader {
  constructor(private readonly options: CgroupUsageReaderOptions) {}

  async locate(container: InspectedContainer): Promise<UsageTarget> {
    const { mounts } = this.options;
    let path: string | null = null;
    let location: CgroupLocation | null = null;
    if (container.pid > 0) {
      try {
        const proc = parseProcCgroup(
          await readFile(join(this.options.procRoot, String(container.pid), 'cgroup'), 'utf8'),
        );
        path = accountingPath(mounts, proc);
        location = locateCgroup(mounts, proc);
      } catch {
        // The process exited (or /proc is not the host's): derive the path below.
      }
    }
    if (path === null || location === null) {
      path = containerCgroupPath(this.options.driver, container.cgroupParent, container.id);
      location = locateCgroupPath(mounts, path);
    }
    if (location === null) {
      throw new UsageLocateError(`no cgroup hierarchy with cpuacct and memory for ${container.id}`);
    }
    const parentPath = parentCgroupPath(path);
    return {
      kind: 'cgroup',
      path,
      location,
      parentPath,
      parentLocation: parentPath === null ? null : parentLocation(location),
    };
  }

  read(target: UsageTarget, withLimits: boolean): Promise<UsageSnapshot> {
    try {
      return Promise.resolve(this.readSync(target, withLimits));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The files are read synchronously (microseconds each): no promise per file or container. */
  readSync(target: UsageTarget, withLimits: boolean): UsageSnapshot {
    if (target.kind !== 'cgroup') throw new UsageReadError('not a cgroup target');
    try {
      const usage = this.options.reader.readUsageSync(target.location);
      const limits = withLimits ? this.options.reader.readLimitsSync(target.location) : null;
      return {
        cpuUsageNs: usage.cpuUsageNs,
        memoryWorkingSetBytes: usage.memoryWorkingSetBytes,
        limits,
      };
    } catch (error) {
      throw translate(error);
    }
  }

  async readParentCpuNs(location: CgroupLocation): Promise<bigint> {
    try {
      return await this.options.reader.readCpuUsageNs(location);
    } catch (error) {
      throw translate(error);
    }
  }
}

function translate(error: unknown): Error {
  if (error instanceof CgroupVanishedError) return new UsageVanishedError(error.path);
  return new UsageReadError(error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
