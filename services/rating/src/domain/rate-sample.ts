import { type InstanceState, type MeteredSample } from './metered-sample';

export interface RatingRules {
  /** A silence between two samples of an instance longer than this is a gap (milliseconds). */
  readonly maxGapMs: number;
  /**
   * The longest time one sample may account for (milliseconds; default MAX_INTERVAL_MS). An
   * interval reaching further back (a first sample of an instance started long before metering,
   * a collector clock reset to 1970) is rated only for its last `maxIntervalMs`, with its CPU in
   * proportion; the rest is `clippedCpuNs`, reported, not billed.
   */
  readonly maxIntervalMs?: number;
}

/** 35 days: a billing month and its grace, and a bounded number of hour buckets per sample. */
export const MAX_INTERVAL_MS = 35 * 24 * 3_600_000;

/** What one accepted sample says about the time since the previous one. */
export interface UsageInterval {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly instanceId: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** CPU consumed in the interval, from the cumulative counter. Never negative. */
  readonly cpuUsageNs: bigint;
  readonly cpuAllocationCores: string | null;
  /** The memory level holding over the interval; null when unknown (a gap). */
  readonly memoryUsageBytes: bigint | null;
  readonly memoryAllocationBytes: bigint | null;
  /** The interval is a gap: longer than the rules allow, its memory level is not invented. */
  readonly gap: boolean;
  /** The counter restarted within the instance (it went down): the new value is the usage. */
  readonly counterReset: boolean;
  /** Time and CPU of the part beyond `maxIntervalMs`, not rated (0 for nearly every interval). */
  readonly clippedMs: number;
  readonly clippedCpuNs: bigint;
}

export type SampleOutcome =
  | { readonly kind: 'rated'; readonly state: InstanceState; readonly interval: UsageInterval }
  | { readonly kind: 'ignored'; readonly reason: 'duplicate' | 'out-of-order' };

/**
 * Rates one sample against the last accepted one of its instance (rating semantics, product.md):
 * - CPU is the delta of the cumulative counter; a decreasing counter is a reset whose new value
 *   is the usage since the reset — never a negative delta, never a double count.
 * - The first sample of an instance counts usage since the instance's `startedAt`.
 * - Memory: the previous sample's level holds until this one (the first sample's level holds
 *   from `startedAt`). Across a gap the level is unknown, so none is invented.
 * - A sample not newer than the last accepted one is a duplicate or arrived out of order: the
 *   cumulative counter of the newer sample already holds its CPU, so it changes nothing.
 */
export function rateSample(
  previous: InstanceState | undefined,
  sample: MeteredSample,
  rules: RatingRules,
): SampleOutcome {
  if (previous !== undefined) {
    if (sample.observedAtMs === previous.lastObservedAtMs)
      return { kind: 'ignored', reason: 'duplicate' };
    if (sample.observedAtMs < previous.lastObservedAtMs)
      return { kind: 'ignored', reason: 'out-of-order' };
  }

  const first = previous === undefined;
  // A first sample observed before its own start (clock skew) is an instant, not a negative span.
  const fullFromMs = first
    ? Math.min(sample.startedAtMs, sample.observedAtMs)
    : previous.lastObservedAtMs;
  const toMs = sample.observedAtMs;
  const maxIntervalMs = rules.maxIntervalMs ?? MAX_INTERVAL_MS;
  const fromMs = Math.max(fullFromMs, toMs - maxIntervalMs);
  const gap = toMs - fullFromMs > rules.maxGapMs;

  let cpuUsageNs: bigint;
  let counterReset = false;
  if (first) {
    cpuUsageNs = sample.cpuUsageNs;
  } else if (sample.cpuUsageNs >= previous.lastCpuUsageNs) {
    cpuUsageNs = sample.cpuUsageNs - previous.lastCpuUsageNs;
  } else {
    cpuUsageNs = sample.cpuUsageNs;
    counterReset = true;
  }

  // Beyond the longest interval: only the last part is rated, its CPU in proportion to time.
  let clippedCpuNs = 0n;
  if (fromMs > fullFromMs) {
    const kept = (cpuUsageNs * BigInt(toMs - fromMs)) / BigInt(toMs - fullFromMs);
    clippedCpuNs = cpuUsageNs - kept;
    cpuUsageNs = kept;
  }

  // The level that held over the interval: the previous reading, or this one for the first.
  const memoryLevel = first ? sample.memoryUsageBytes : previous.lastMemoryUsageBytes;
  const cpuAllocation = first ? sample.cpuAllocationCores : previous.lastCpuAllocationCores;
  const memoryAllocation = first
    ? sample.memoryAllocationBytes
    : previous.lastMemoryAllocationBytes;

  const state: InstanceState = {
    tenantId: sample.tenantId,
    resourceKind: sample.resourceKind,
    resourceId: sample.resourceId,
    instanceId: sample.instanceId,
    startedAtMs: previous?.startedAtMs ?? sample.startedAtMs,
    lastObservedAtMs: sample.observedAtMs,
    lastCpuUsageNs: sample.cpuUsageNs,
    lastMemoryUsageBytes: sample.memoryUsageBytes,
    lastCpuAllocationCores: sample.cpuAllocationCores,
    lastMemoryAllocationBytes: sample.memoryAllocationBytes,
    final: sample.lifecycle === 'final' || (previous?.final ?? false),
  };

  return {
    kind: 'rated',
    state,
    interval: {
      tenantId: sample.tenantId,
      resourceKind: sample.resourceKind,
      resourceId: sample.resourceId,
      instanceId: sample.instanceId,
      fromMs,
      toMs,
      cpuUsageNs,
      cpuAllocationCores: cpuAllocation,
      memoryUsageBytes: gap ? null : memoryLevel,
      memoryAllocationBytes: memoryAllocation,
      gap,
      counterReset,
      clippedMs: fromMs - fullFromMs,
      clippedCpuNs,
    },
  };
}
