import { type Lifecycle, SCHEMA_VERSIONS, type SampleEvent, sampleIdOf } from '@metering/contracts';
import { type InstanceIdentity, type Reading } from './reading';

/**
 * A container sample from one reading (product.md, "Wire formats"); `sequence` numbers the
 * instance's samples in this collector run (0, 1, 2…); `hostCores`: `cpu.hostCores`, when said.
 */
export function containerSample(
  host: string,
  identity: InstanceIdentity,
  reading: Reading,
  lifecycle: Lifecycle,
  observedAt: number,
  sequence: number,
  hostCores?: number,
  intervalMs?: number,
): SampleEvent {
  const at = new Date(observedAt);
  const observed = at.toISOString();
  // Built in the contract's field order (intervalMs after lifecycle): the publisher then encodes
  // this object as it is, without reordering it into a copy (encodeSample, isCanonicalSample).
  const sample: Mutable<SampleEvent> = {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({
      source: 'docker',
      host,
      resourceId: identity.containerId,
      instanceId: identity.instanceId,
      // The Date, not its text: the id's UTC milliseconds without parsing the text again.
      observedAt: at,
    }),
    source: 'docker',
    host,
    resource: {
      kind: 'container',
      id: identity.containerId,
      name: identity.name,
      ...(identity.image === undefined ? {} : { image: identity.image }),
      tenantId: identity.tenantId,
      instanceId: identity.instanceId,
      startedAt: identity.startedAt,
    },
    observedAt: observed,
    sequence,
    lifecycle,
  };
  if (intervalMs !== undefined) sample.intervalMs = intervalMs;
  sample.cpu =
    hostCores === undefined
      ? {
          usageNs: reading.cpuUsageNs.toString(),
          allocationCores: positiveOrNull(reading.limits.cpuLimitCores),
        }
      : {
          usageNs: reading.cpuUsageNs.toString(),
          allocationCores: positiveOrNull(reading.limits.cpuLimitCores),
          hostCores,
        };
  sample.memory = {
    usageBytes: reading.memoryWorkingSetBytes,
    allocationBytes: positiveOrNull(reading.limits.memoryLimitBytes),
  };
  return sample as SampleEvent;
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** Who a parent cgroup's residual is billed to, and as which resource. */
export interface ResidualIdentity {
  /** `<host>:cgroup:<parent path>`: unique across hosts, stable across collector restarts. */
  readonly resourceId: string;
  readonly parentPath: string;
  readonly tenantId: string;
  /** When this residual counter started at zero (the baseline reading), ISO UTC ms. */
  readonly startedAt: string;
  readonly instanceId: string;
}

export function residualIdentityOf(
  host: string,
  parentPath: string,
  tenantId: string,
  baselineAt: number,
): ResidualIdentity {
  const startedAt = new Date(baselineAt).toISOString();
  return {
    resourceId: `${host}:cgroup:${parentPath}`,
    parentPath,
    tenantId,
    startedAt,
    instanceId: `${parentPath}@${startedAt}`,
  };
}

/**
 * The residual of a per-tenant parent cgroup as a sample: CPU its exited children used that
 * no container sample carries (the last milliseconds of containers that exited between two
 * readings, containers too short-lived to be read at all). A cumulative counter from the
 * baseline like any other; no memory (exited children hold none), no allocation.
 * `resource.residualOf` tells it apart (unknown fields are kept by the contract).
 */
export function residualSample(
  host: string,
  identity: ResidualIdentity,
  residualNs: bigint,
  lifecycle: Lifecycle,
  observedAt: number,
  sequence: number,
): SampleEvent {
  const observed = new Date(observedAt).toISOString();
  return {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({
      source: 'docker',
      host,
      resourceId: identity.resourceId,
      instanceId: identity.instanceId,
      observedAt: observed,
    }),
    source: 'docker',
    host,
    resource: {
      kind: 'container',
      id: identity.resourceId,
      name: `exited containers of ${identity.parentPath}`,
      tenantId: identity.tenantId,
      instanceId: identity.instanceId,
      startedAt: identity.startedAt,
      residualOf: identity.parentPath,
    },
    observedAt: observed,
    sequence,
    lifecycle,
    cpu: { usageNs: residualNs.toString(), allocationCores: null },
    memory: { usageBytes: 0, allocationBytes: null },
  };
}

function positiveOrNull<T extends number | null>(value: T): number | null {
  return value !== null && value > 0 ? value : null;
}
