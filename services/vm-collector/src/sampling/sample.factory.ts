import {
  type Lifecycle,
  SAMPLE_LIMITS,
  type SampleEvent,
  isPrintableText,
  sampleIdOf,
  utf8ByteLength,
} from '@metering/contracts';
import { type DomainReading } from './domain-reading';

export const MEMORY_USAGE_MODES = ['rss', 'balloon'] as const;
export type MemoryUsageMode = (typeof MEMORY_USAGE_MODES)[number];

export interface SampleFactoryOptions {
  /** Tenant of a domain without tenant metadata. */
  readonly defaultTenant: string;
  readonly memoryUsage: MemoryUsageMode;
  /** The running-sample interval, declared on every sample (`intervalMs`); absent: not declared. */
  readonly intervalMs?: number;
}

/** The instance a sample belongs to, as the sampling cycle tracks it. */
export interface SampledInstance {
  readonly instanceId: string;
  readonly startedAt: Date;
  /** Subtracted from cpuTime: the counter's value at startedAt when that is first sight. */
  readonly cpuBaselineNs?: bigint;
}

/**
 * One `metering.samples.v1` event from one reading.
 * - cpu.usageNs: the domain's cumulative cpuTime (less the baseline of an instance whose start is
 *   unknown); allocationCores: its vCPUs.
 * - memory.usageBytes: see memoryUsageOf; allocationBytes: the current (balloon) memory;
 *   maxBytes (an extra field) the maximum memory.
 * `observedAt` may be later than the reading's (a final sample moved past the previous one).
 * `sequence`: the sample's number within its instance in this collector run (0, 1, 2…).
 */
export function sampleOf(
  instance: SampledInstance,
  reading: DomainReading,
  lifecycle: Lifecycle,
  observedAt: Date,
  options: SampleFactoryOptions,
  sequence: number,
): SampleEvent {
  // The schema forbids a reading before its instance started; a process start a few ms
  // after our first sight of the domain (clocks of /proc vs Date) is not a reason to fail.
  const startedAt = instance.startedAt <= observedAt ? instance.startedAt : observedAt;
  const observed = observedAt.toISOString();
  return {
    schema: 'metering.sample.v1',
    sampleId: sampleIdOf({
      source: 'libvirt',
      host: reading.host,
      resourceId: reading.uuid,
      instanceId: instance.instanceId,
      observedAt: observed,
    }),
    source: 'libvirt',
    host: reading.host,
    resource: {
      kind: 'vm',
      id: reading.uuid,
      name: reading.name,
      ...(fitsContract(reading.flavour) ? { flavour: reading.flavour } : {}),
      tenantId: reading.tenantId ?? options.defaultTenant,
      instanceId: instance.instanceId,
      startedAt: startedAt.toISOString(),
    },
    observedAt: observed,
    sequence,
    lifecycle,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    cpu: {
      usageNs: rebase(reading.cpuTimeNs, instance.cpuBaselineNs ?? 0n).toString(),
      allocationCores: reading.vcpus > 0 ? reading.vcpus : null,
    },
    memory: {
      usageBytes: memoryUsageOf(reading, options.memoryUsage),
      allocationBytes: reading.memoryBytes > 0 ? reading.memoryBytes : null,
      maxBytes: reading.maxMemoryBytes > 0 ? reading.maxMemoryBytes : null,
    },
  };
}

function rebase(cpuTimeNs: bigint, baselineNs: bigint): bigint {
  return cpuTimeNs > baselineNs ? cpuTimeNs - baselineNs : 0n;
}

/**
 * The memory a VM uses, by mode (README, "Memory"): `rss` is the host memory its QEMU
 * process holds, when readable; otherwise, and in `balloon` mode, the current balloon
 * memory, i.e. what the guest has been given.
 */
export function memoryUsageOf(reading: DomainReading, mode: MemoryUsageMode): number {
  switch (mode) {
    case 'rss':
      return reading.process?.memoryBytes ?? reading.memoryBytes;
    case 'balloon':
      return reading.memoryBytes;
  }
}

/** A flavour the contract accepts: otherwise it is left out, never a reason to lose the sample. */
function fitsContract(flavour: string | null | undefined): flavour is string {
  return (
    flavour !== undefined &&
    flavour !== null &&
    flavour !== '' &&
    utf8ByteLength(flavour) <= SAMPLE_LIMITS.flavourBytes &&
    isPrintableText(flavour)
  );
}
