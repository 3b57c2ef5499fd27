/**
 * A validated sample as the rating domain sees it: times in epoch milliseconds, the cumulative
 * CPU counter as a bigint (it exceeds 2^53 after ~104 core-days), allocations as decimal strings
 * (never binary floats). The consuming adapter maps `metering.samples.v1` into this.
 */
export interface MeteredSample {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly instanceId: string;
  /** The host that measured it (a label of the raw gauges, not part of rating). */
  readonly host: string;
  /**
   * What the collector calls the resource, its image (containers) and flavour (VMs), when it says:
   * the resource dimension's description (resource-dimension.ts), not part of rating.
   */
  readonly name?: string | undefined;
  readonly image?: string | null;
  readonly flavour?: string | null;
  readonly startedAtMs: number;
  readonly observedAtMs: number;
  readonly lifecycle: 'start' | 'running' | 'final';
  readonly cpuUsageNs: bigint;
  readonly memoryUsageBytes: bigint;
  /** Cores as a decimal string ("0.5"); null when unlimited. */
  readonly cpuAllocationCores: string | null;
  readonly memoryAllocationBytes: bigint | null;
  /** The host's cores, when the collector says (the bound of an unlimited resource). */
  readonly hostCores?: number | null;
  /** The collector's running-sample interval (ms) when it declares one (completeness, ADR 0013). */
  readonly intervalMs?: number | null;
  /** Running samples of the instance a spool dropped right before this one. */
  readonly thinned?: number;
  /**
   * An inferred final (the collector found the resource gone after a restart): when it found it
   * gone. observedAt → this is the unseen tail, recorded as a gap, never billed.
   */
  readonly inferredDetectedAtMs?: number | null;
}

/** What rating remembers of an instance between samples: its last accepted reading. */
export interface InstanceState {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly instanceId: string;
  readonly startedAtMs: number;
  readonly lastObservedAtMs: number;
  readonly lastCpuUsageNs: bigint;
  readonly lastMemoryUsageBytes: bigint;
  readonly lastCpuAllocationCores: string | null;
  readonly lastMemoryAllocationBytes: bigint | null;
  readonly final: boolean;
}

export function instanceKey(s: { resourceId: string; instanceId: string }): string {
  return `${s.resourceId}\u0000${s.instanceId}`;
}

/**
 * The samples' instances, each once, in the order first seen: keyed by resource, then instance (the
 * decoder's interned strings), so no key is built per sample.
 */
export function uniqueInstances(
  samples: readonly { readonly resourceId: string; readonly instanceId: string }[],
): { resourceId: string; instanceId: string }[] {
  const seen = new Map<string, Set<string>>();
  const unique: { resourceId: string; instanceId: string }[] = [];
  for (const { resourceId, instanceId } of samples) {
    let instances = seen.get(resourceId);
    if (instances === undefined) seen.set(resourceId, (instances = new Set()));
    if (instances.has(instanceId)) continue;
    instances.add(instanceId);
    unique.push({ resourceId, instanceId });
  }
  return unique;
}
