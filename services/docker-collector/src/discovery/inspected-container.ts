import { type CgroupLimits, countCpuSet } from '../cgroups';

/** What the collector needs from `docker inspect`, engine-neutral (no dockerode types). */
export interface InspectedContainer {
  readonly id: string;
  /** Without the leading slash Docker puts on names. */
  readonly name: string;
  /** The image as the container was created from it (`Config.Image`, e.g. `local/busybox:1`). */
  readonly image?: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  /** Host pid of the container's init process; 0 when not running. */
  readonly pid: number;
  /** ISO-8601 as Docker reports it (nanoseconds). Changes on every (re)start. */
  readonly startedAt: string;
  /** Last exit; Docker's zero time "0001-01-01T00:00:00Z" becomes null. */
  readonly finishedAt: string | null;
  /** HostConfig.CgroupParent; empty for the engine's default. */
  readonly cgroupParent: string;
  /** Limits as configured in HostConfig, for when the cgroup files cannot be read. */
  readonly configuredLimits: CgroupLimits;
}

/** The subset of Docker's inspect answer read here (structurally matches dockerode's type). */
export interface InspectInfo {
  Id: string;
  Name: string;
  State: { Running: boolean; Pid: number; StartedAt: string; FinishedAt: string };
  Config?: { Labels?: Record<string, string> | null; Image?: string } | null;
  HostConfig?: {
    CgroupParent?: string | undefined;
    NanoCpus?: number | undefined;
    CpuQuota?: number | undefined;
    CpuPeriod?: number | undefined;
    CpusetCpus?: string | undefined;
    Memory?: number | undefined;
  } | null;
}

const ZERO_TIME = /^0001-01-01T/;

export function inspectedContainerOf(info: InspectInfo, hostCpuCount: number): InspectedContainer {
  const host = info.HostConfig ?? {};
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config?.Image ?? null,
    labels: info.Config?.Labels ?? {},
    running: info.State.Running,
    pid: info.State.Pid,
    startedAt: info.State.StartedAt,
    finishedAt: ZERO_TIME.test(info.State.FinishedAt) ? null : info.State.FinishedAt,
    cgroupParent: host.CgroupParent ?? '',
    configuredLimits: {
      cpuLimitCores: configuredCpuCores(host, hostCpuCount),
      memoryLimitBytes: host.Memory !== undefined && host.Memory > 0 ? host.Memory : null,
    },
  };
}

/** `--cpus` (NanoCpus), `--cpu-quota/--cpu-period`, `--cpuset-cpus`: the smallest wins. */
function configuredCpuCores(
  host: NonNullable<InspectInfo['HostConfig']>,
  hostCpuCount: number,
): number | null {
  const candidates: number[] = [];
  if (host.NanoCpus !== undefined && host.NanoCpus > 0) candidates.push(host.NanoCpus / 1e9);
  if (host.CpuQuota !== undefined && host.CpuQuota > 0) {
    const period = host.CpuPeriod !== undefined && host.CpuPeriod > 0 ? host.CpuPeriod : 100_000;
    candidates.push(host.CpuQuota / period);
  }
  if (host.CpusetCpus !== undefined && host.CpusetCpus.trim() !== '') {
    const n = countCpus(host.CpusetCpus);
    if (n > 0 && n < hostCpuCount) candidates.push(n);
  }
  return candidates.length === 0 ? null : Math.min(...candidates);
}

function countCpus(list: string): number {
  try {
    return countCpuSet(list);
  } catch {
    return 0; // Docker validated it; an unreadable list just means no cpuset limit is known.
  }
}
