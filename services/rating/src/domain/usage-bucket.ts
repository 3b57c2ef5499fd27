import { BUCKET_MS } from '@metering/pricing';
import { type CpuUnits, type MemoryUnits, maxOf, nanoCores } from './exact-units';
import { type UsageInterval } from './rate-sample';
import { zoneCalendar } from './zone-calendar';

/**
 * Usage of one resource in one hour bucket, in exact integer units (exact-units.ts): CPU in
 * 10^-12 core-seconds (so nanoseconds and nano-cores × milliseconds are both whole), memory in
 * 10^-3 byte-seconds. GiB-seconds are derived on read (÷ 2^30, also exact). Each basis is kept, so
 * a plan's basis can be priced from the same ledger, and `max` is taken per interval, where it
 * belongs (a sum of maxima is not the maximum of sums).
 */
export interface BucketUsage {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly bucketStartMs: number;
  readonly cpuUsage: CpuUnits;
  readonly cpuAllocation: CpuUnits;
  readonly cpuMax: CpuUnits;
  readonly memoryUsage: MemoryUnits;
  readonly memoryAllocation: MemoryUnits;
  readonly memoryMax: MemoryUnits;
  /** Time covered by samples, and time inside gaps, in ms: the completeness of the bucket. */
  readonly observedMs: number;
  readonly gapMs: number;
}

/** The part of an interval inside one bucket, with the part's own time span. */
export interface BucketSegment {
  readonly usage: BucketUsage;
  readonly fromMs: number;
  /** Equal to fromMs only for an instant (an interval of no duration). */
  readonly toMs: number;
}

/**
 * Splits an interval at the hour boundaries of the tenant's billing zone. CPU is spread in
 * proportion to time with integer nanoseconds: part i is floor(Q·t_i/T) − floor(Q·t_{i−1}/T) for
 * cumulative times t_i, so the parts always add up to exactly Q. Levels (memory, allocations)
 * are exact: level × segment length.
 */
export function splitIntervalSegments(interval: UsageInterval, timeZone: string): BucketSegment[] {
  const calendar = zoneCalendar(timeZone);
  const { fromMs, toMs } = interval;
  const total = toMs - fromMs;
  if (total <= 0) {
    // An instant: its CPU belongs to the bucket it happened in; no level has any duration.
    const bucket = calendar.hourBucketStart(toMs);
    return [{ usage: segment(interval, bucket, 0, interval.cpuUsageNs), fromMs: toMs, toMs }];
  }
  const q = interval.cpuUsageNs;
  let start = fromMs;
  const firstBucket = calendar.hourBucketStart(start);
  // The common case, an interval inside one bucket, without bigint division.
  if (toMs <= firstBucket + BUCKET_MS) {
    return [{ usage: segment(interval, firstBucket, total, q), fromMs, toMs }];
  }
  const out: BucketSegment[] = [];
  const t = BigInt(total);
  let allotted = 0n;
  while (start < toMs) {
    const bucket = calendar.hourBucketStart(start);
    const end = Math.min(bucket + BUCKET_MS, toMs);
    const cumulative = (q * BigInt(end - fromMs)) / t;
    out.push({
      usage: segment(interval, bucket, end - start, cumulative - allotted),
      fromMs: start,
      toMs: end,
    });
    allotted = cumulative;
    start = end;
  }
  return out;
}

/** The bucket usages of an interval (see splitIntervalSegments). */
export function splitInterval(interval: UsageInterval, timeZone: string): BucketUsage[] {
  return splitIntervalSegments(interval, timeZone).map((s) => s.usage);
}

function segment(
  interval: UsageInterval,
  bucketStartMs: number,
  durationMs: number,
  cpuNs: bigint,
): BucketUsage {
  const ms = BigInt(durationMs);
  const cpuUsage = cpuNs * 1000n;
  const cpuAllocation =
    interval.cpuAllocationCores === null ? cpuUsage : nanoCores(interval.cpuAllocationCores) * ms;
  const level = interval.memoryUsageBytes;
  const memoryUsage = level === null ? 0n : level * ms;
  const allocationBytes = interval.memoryAllocationBytes;
  const memoryAllocation = allocationBytes === null ? memoryUsage : allocationBytes * ms;
  return {
    tenantId: interval.tenantId,
    resourceKind: interval.resourceKind,
    resourceId: interval.resourceId,
    bucketStartMs,
    cpuUsage,
    cpuAllocation,
    cpuMax: maxOf(cpuUsage, cpuAllocation),
    memoryUsage,
    memoryAllocation,
    memoryMax: maxOf(memoryUsage, memoryAllocation),
    observedMs: interval.gap ? 0 : durationMs,
    gapMs: interval.gap ? durationMs : 0,
  };
}

export function bucketKey(
  b: Pick<BucketUsage, 'tenantId' | 'resourceId' | 'bucketStartMs'>,
): string {
  return `${b.tenantId}\u0000${b.resourceId}\u0000${b.bucketStartMs}`;
}

/** Adds bucket usages that share tenant, resource and bucket. Integer addition is exact. */
export function mergeBuckets(parts: Iterable<BucketUsage>): Map<string, BucketUsage> {
  const out = new Map<string, BucketUsage>();
  for (const p of parts) {
    const key = bucketKey(p);
    const prev = out.get(key);
    out.set(key, prev === undefined ? p : addBuckets(prev, p));
  }
  return out;
}

export function addBuckets(a: BucketUsage, b: BucketUsage): BucketUsage {
  return {
    tenantId: a.tenantId,
    resourceKind: a.resourceKind,
    resourceId: a.resourceId,
    bucketStartMs: a.bucketStartMs,
    cpuUsage: a.cpuUsage + b.cpuUsage,
    cpuAllocation: a.cpuAllocation + b.cpuAllocation,
    cpuMax: a.cpuMax + b.cpuMax,
    memoryUsage: a.memoryUsage + b.memoryUsage,
    memoryAllocation: a.memoryAllocation + b.memoryAllocation,
    memoryMax: a.memoryMax + b.memoryMax,
    observedMs: a.observedMs + b.observedMs,
    gapMs: a.gapMs + b.gapMs,
  };
}
