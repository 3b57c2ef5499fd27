import { type CgroupLimits, type CgroupLocation } from '../cgroups';
import { type InspectedContainer } from '../discovery/inspected-container';

/** Where and how one container instance's usage is read, resolved once at discovery. */
export type UsageTarget =
  | {
      readonly kind: 'cgroup';
      /** The cgroup path usage is accounted under, e.g. /metering/acme/<id>. */
      readonly path: string;
      readonly location: CgroupLocation;
      /** The parent cgroup (e.g. /metering/acme), whose counter keeps exited children's CPU. */
      readonly parentPath: string | null;
      readonly parentLocation: CgroupLocation | null;
    }
  | {
      readonly kind: 'stats-api';
      readonly containerId: string;
      readonly configuredLimits: CgroupLimits;
    };

export interface UsageSnapshot {
  readonly cpuUsageNs: bigint;
  readonly memoryWorkingSetBytes: number;
  /** Null when not asked for (limits are read at discovery, on `update` and now and then). */
  readonly limits: CgroupLimits | null;
}

/** Reads container usage: cgroup files, or the Docker stats API as a fallback. */
export interface UsageReader {
  /** Resolves the target of a running container; throws UsageLocateError. */
  locate(container: InspectedContainer): Promise<UsageTarget>;
  /** Throws UsageVanishedError when the container's cgroup is gone (it exited). */
  read(target: UsageTarget, withLimits: boolean): Promise<UsageSnapshot>;
  /**
   * read() without a promise, for the targets that are read synchronously anyway (cgroup
   * files); undefined where this target is not (the stats API). Throws what read() rejects with.
   */
  readSync?(target: UsageTarget, withLimits: boolean): UsageSnapshot | undefined;
  /** The cumulative CPU counter of a parent cgroup. */
  readParentCpuNs(location: CgroupLocation): Promise<bigint>;
}
