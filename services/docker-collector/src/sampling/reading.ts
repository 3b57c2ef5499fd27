import { SAMPLE_LIMITS, isPrintableText, utf8ByteLength } from '@metering/contracts';
import { type CgroupLimits } from '../cgroups';

/** One reading of a container instance, as the sampling logic keeps it. */
export interface Reading {
  /** When the read began, epoch milliseconds (fractional: sub-ms ordering matters). */
  readonly at: number;
  /** When the read returned. Between the two the kernel's counters were sampled. */
  readonly doneAt: number;
  /** Cumulative CPU ns since the instance started. */
  readonly cpuUsageNs: bigint;
  readonly memoryWorkingSetBytes: number;
  readonly limits: CgroupLimits;
}

/** Who a container instance is and whom it is billed to. */
export interface InstanceIdentity {
  readonly containerId: string;
  readonly name: string;
  /** The container's image when it fits the sample contract (else absent: never a dead letter). */
  readonly image?: string;
  readonly tenantId: string;
  /** ISO-8601 in UTC milliseconds. */
  readonly startedAt: string;
  readonly instanceId: string;
}

/**
 * The instance id: the container id and the start time. Docker gives a restarted container
 * a new StartedAt (and a fresh cgroup whose counters start at zero), so the id changes exactly
 * when the counters restart — and is the same whoever derives it, so a restarted collector
 * continues the same instance. Same shape as the contract's fixtures.
 */
export function instanceIdOf(containerId: string, startedAt: string): string {
  return `${containerId.slice(0, 12)}@${utcMillis(startedAt)}`;
}

/** Docker's nanosecond timestamps → ISO-8601 UTC milliseconds. */
export function utcMillis(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: "${timestamp}"`);
  return date.toISOString();
}

export function identityOf(
  container: { id: string; name: string; startedAt: string; image?: string | null | undefined },
  tenantId: string,
): InstanceIdentity {
  const image = container.image ?? '';
  return {
    containerId: container.id,
    name: container.name,
    ...(image !== '' && utf8ByteLength(image) <= SAMPLE_LIMITS.imageBytes && isPrintableText(image)
      ? { image }
      : {}),
    tenantId,
    startedAt: utcMillis(container.startedAt),
    instanceId: instanceIdOf(container.id, container.startedAt),
  };
}
