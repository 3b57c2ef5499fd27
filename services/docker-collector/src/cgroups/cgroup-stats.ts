/** The part of a reading that changes all the time. */
export interface CgroupUsage {
  /** Cumulative CPU time since the cgroup was created, in nanoseconds (may exceed 2^53). */
  readonly cpuUsageNs: bigint;
  /**
   * Working set in bytes: usage minus inactive file cache, as cAdvisor and `kubectl top` report it.
   * Page cache the kernel can drop at will is not billed to the tenant.
   */
  readonly memoryWorkingSetBytes: number;
  /** Raw usage including all page cache (memory.usage_in_bytes / memory.current). */
  readonly memoryUsageBytes: number;
}

/** The part of a reading that changes only when the container is updated. */
export interface CgroupLimits {
  /** Memory limit in bytes; null when unlimited. */
  readonly memoryLimitBytes: number | null;
  /** CPU allocation in cores from the CFS quota or the cpuset, whichever is smaller; null when unlimited. */
  readonly cpuLimitCores: number | null;
}

export type CgroupVersion = 'v1' | 'v2';

/** One full reading of a container's cgroup. */
export interface CgroupStats extends CgroupUsage, CgroupLimits {}
