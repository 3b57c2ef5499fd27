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
  /** What a reading may claim; absent: every reading is taken at its word. */
  readonly plausibility?: PlausibilityRules;
}

/**
 * The most a reading may claim. An implausible sample is rejected (dead-lettered) and the instance
 * stays at its last accepted reading, so the cumulative counter of the next plausible sample still
 * carries whatever was really used: nothing is lost by refusing a bad reading.
 */
export interface PlausibilityRules {
  /**
   * CPU may exceed the allocation (cores) × wall time by this factor, in thousandths (1500: 50 %):
   * QEMU's emulator and I/O threads are charged to a domain beyond its vCPUs, CFS lets a container
   * burst past its quota within a period, and a counter is read a little after its timestamp.
   */
  readonly cpuSlackPermille: bigint;
  /** CPU allowed above that in any interval, in ns (covers counter-read skew on short intervals). */
  readonly cpuToleranceNs: bigint;
  /** Cores of an unlimited resource whose sample does not say its host's cores. */
  readonly maxCores: number;
  /** The largest memory reading believed, in bytes. */
  readonly maxMemoryBytes: bigint;
}

export type ImplausibleCode = 'IMPLAUSIBLE_CPU' | 'IMPLAUSIBLE_MEMORY';

export interface Implausible {
  readonly code: ImplausibleCode;
  readonly path: string;
  readonly message: string;
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
  /**
   * Completeness (libs/pricing completeness.ts, ADR 0013): the collector's declared interval (null:
   * none declared, the interval is judged by time), the samples it should have produced over the
   * rated span (max(1, round(span / intervalMs)); 0 when none declared) and of those, the ones its
   * spool thinned. The sample itself is the one observed. Absent: as null / 0.
   */
  readonly intervalMs?: number | null;
  readonly samplesExpected?: number;
  readonly samplesThinned?: number;
  /**
   * An inferred final's unseen tail: from its last reading (toMs) to when the collector found the
   * resource gone, at most `maxIntervalMs`; 0 for every other sample. Recorded as a gap of that
   * length, with no usage. Absent: 0.
   */
  readonly tailMs?: number;
}

/** The samples a collector with interval `intervalMs` produces over `spanMs`: at least this one. */
export function expectedSamples(spanMs: number, intervalMs: number | null): number {
  if (intervalMs === null) return 0;
  return Math.max(1, Math.round(spanMs / intervalMs));
}

/** The samples a collector would have produced over an unseen tail (whole intervals only). */
export function expectedInTail(tailMs: number, intervalMs: number | null): number {
  if (intervalMs === null) return 0;
  return Math.floor(tailMs / intervalMs);
}

export type SampleOutcome =
  | { readonly kind: 'rated'; readonly state: InstanceState; readonly interval: UsageInterval }
  | { readonly kind: 'ignored'; readonly reason: 'duplicate' | 'out-of-order' }
  | { readonly kind: 'rejected'; readonly implausible: Implausible };

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

  if (rules.plausibility !== undefined) {
    const implausible = checkPlausible(
      rules.plausibility,
      sample,
      previous,
      cpuUsageNs,
      toMs - fullFromMs,
    );
    if (implausible !== null) return { kind: 'rejected', implausible };
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

  const intervalMs = sample.intervalMs ?? null;
  const samplesExpected = expectedSamples(toMs - fromMs, intervalMs);
  const tailMs =
    sample.inferredDetectedAtMs === undefined || sample.inferredDetectedAtMs === null
      ? 0
      : Math.min(Math.max(0, sample.inferredDetectedAtMs - toMs), maxIntervalMs);
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
      intervalMs,
      samplesExpected,
      samplesThinned: Math.min(sample.thinned ?? 0, Math.max(0, samplesExpected - 1)),
      tailMs,
    },
  };
}

const NANO_CORES = /^(\d+)(?:\.(\d{1,9}))?$/;

/** Hosts report a handful of distinct limits: each is parsed once (checked twice per sample). */
const nanoCoresOf = new Map<string, bigint | null>();

/** Cores as a decimal string ("0.5") in nano-cores; null when unlimited or not a plain decimal. */
function nanoCores(cores: string | null): bigint | null {
  if (cores === null) return null;
  let n = nanoCoresOf.get(cores);
  if (n === undefined) {
    const m = NANO_CORES.exec(cores);
    n = m === null ? null : BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
    if (nanoCoresOf.size > 10_000) nanoCoresOf.clear();
    nanoCoresOf.set(cores, n);
  }
  return n;
}

/**
 * CPU within what the resource could use over the interval (its allocation, the larger of the
 * previous and the new one when it changed; unlimited: the host's cores, or `maxCores`), times the
 * slack, plus the tolerance; memory within the ceiling.
 */
function checkPlausible(
  rules: PlausibilityRules,
  sample: MeteredSample,
  previous: InstanceState | undefined,
  cpuUsageNs: bigint,
  wallMs: number,
): Implausible | null {
  if (sample.memoryUsageBytes > rules.maxMemoryBytes) {
    return {
      code: 'IMPLAUSIBLE_MEMORY',
      path: 'memory.usageBytes',
      message: `memory.usageBytes: ${sample.memoryUsageBytes} bytes is above the ceiling of ${rules.maxMemoryBytes}`,
    };
  }
  const now = nanoCores(sample.cpuAllocationCores);
  const before = previous === undefined ? now : nanoCores(previous.lastCpuAllocationCores);
  let capacity: bigint;
  let basis: string;
  if (now !== null && before !== null) {
    capacity = now > before ? now : before;
    basis = 'its allocation';
  } else if (sample.hostCores !== undefined && sample.hostCores !== null) {
    capacity = BigInt(sample.hostCores) * 1_000_000_000n;
    basis = "its host's cores";
  } else {
    capacity = BigInt(rules.maxCores) * 1_000_000_000n;
    basis = 'the most cores a resource is believed to have';
  }
  if (clearlyWithin(capacity, wallMs, rules, cpuUsageNs)) return null;
  // nano-cores × ms × permille / 10^6 = ns of CPU.
  const limitNs =
    (capacity * BigInt(Math.max(0, wallMs)) * rules.cpuSlackPermille) / 1_000_000n +
    rules.cpuToleranceNs;
  if (cpuUsageNs <= limitNs) return null;
  const cores = Number(capacity) / 1e9;
  return {
    code: 'IMPLAUSIBLE_CPU',
    path: 'cpu.usageNs',
    message:
      `cpu.usageNs: ${cpuUsageNs} ns of CPU in ${wallMs} ms is more than ${basis} ` +
      `(${cores} cores) could use (at most ${limitNs} ns with the slack)`,
  };
}

/**
 * Whether the CPU is below the bound by more than floating point can blur: the bound worked out
 * in doubles (each step within 2^-53 of exact, six steps) less a billionth and 2 ns is below the
 * exact one (whose division floors by less than 1 ns), so a sample it passes the exact bound
 * passes too. Nearly every sample is far below its bound; this spares them the bigint product and
 * division (the fold's costliest line in a CPU profile, ADR 14). The rest are decided exactly.
 */
function clearlyWithin(
  capacity: bigint,
  wallMs: number,
  rules: PlausibilityRules,
  cpuUsageNs: bigint,
): boolean {
  const bound =
    (Number(capacity) * Math.max(0, wallMs) * Number(rules.cpuSlackPermille)) / 1e6 +
    Number(rules.cpuToleranceNs);
  return Number(cpuUsageNs) < bound * (1 - 1e-9) - 2;
}
