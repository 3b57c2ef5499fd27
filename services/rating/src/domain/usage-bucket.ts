import { Decimal, NANOSECONDS_PER_SECOND, toDecimal } from '@metering/money';
import { type UsageInterval } from './rate-sample';
import { BUCKET_MS, hourBucketStart } from '@metering/pricing';

/**
 * Usage of one resource in one hour bucket, in exact units: CPU in core-seconds (9 decimals at
 * most: nanoseconds), memory in byte-seconds (3 decimals at most: milliseconds). GiB-seconds
 * are derived on read (÷ 2^30, also exact). Each basis is kept, so a plan's basis can be priced
 * from the same ledger, and `max` is taken per interval, where it belongs (a sum of maxima is not
 * the maximum of sums).
 */
export interface BucketUsage {
  readonly tenantId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly resourceId: string;
  readonly bucketStartMs: number;
  readonly cpuUsageCoreSeconds: Decimal;
  readonly cpuAllocationCoreSeconds: Decimal;
  readonly cpuMaxCoreSeconds: Decimal;
  readonly memoryUsageByteSeconds: Decimal;
  readonly memoryAllocationByteSeconds: Decimal;
  readonly memoryMaxByteSeconds: Decimal;
  /** Time covered by samples, and time inside gaps, in ms: the completeness of the bucket. */
  readonly observedMs: number;
  readonly gapMs: number;
}

const ZERO = new Decimal(0);
const MS_PER_SECOND = new Decimal(1000);

/**
 * Splits an interval at the hour boundaries of the tenant's billing zone. CPU is spread in
 * proportion to time with integer nanoseconds: part i is floor(Q·t_i/T) − floor(Q·t_{i−1}/T) for
 * cumulative times t_i, so the parts always add up to exactly Q. Levels (memory, allocations)
 * are exact: level × segment length.
 */
export function splitInterval(interval: UsageInterval, timeZone: string): BucketUsage[] {
  const { fromMs, toMs } = interval;
  const total = toMs - fromMs;
  if (total <= 0) {
    // An instant: its CPU belongs to the bucket it happened in; no level has any duration.
    return [segment(interval, hourBucketStart(timeZone, toMs), 0, interval.cpuUsageNs)];
  }
  const out: BucketUsage[] = [];
  const q = interval.cpuUsageNs;
  const t = BigInt(total);
  let start = fromMs;
  let allotted = 0n;
  while (start < toMs) {
    const bucket = hourBucketStart(timeZone, start);
    const end = Math.min(bucket + BUCKET_MS, toMs);
    const cumulative = (q * BigInt(end - fromMs)) / t;
    out.push(segment(interval, bucket, end - start, cumulative - allotted));
    allotted = cumulative;
    start = end;
  }
  return out;
}

function segment(
  interval: UsageInterval,
  bucketStartMs: number,
  durationMs: number,
  cpuNs: bigint,
): BucketUsage {
  const seconds = new Decimal(durationMs).div(MS_PER_SECOND);
  const cpuUsage = new Decimal(cpuNs.toString()).div(NANOSECONDS_PER_SECOND);
  const cpuAllocation =
    interval.cpuAllocationCores === null
      ? cpuUsage
      : toDecimal(interval.cpuAllocationCores).times(seconds);

  const level = interval.memoryUsageBytes;
  const memoryUsage = level === null ? ZERO : new Decimal(level.toString()).times(seconds);
  const allocationBytes = interval.memoryAllocationBytes;
  const memoryAllocation =
    allocationBytes === null ? memoryUsage : new Decimal(allocationBytes.toString()).times(seconds);

  return {
    tenantId: interval.tenantId,
    resourceKind: interval.resourceKind,
    resourceId: interval.resourceId,
    bucketStartMs,
    cpuUsageCoreSeconds: cpuUsage,
    cpuAllocationCoreSeconds: cpuAllocation,
    cpuMaxCoreSeconds: Decimal.max(cpuUsage, cpuAllocation),
    memoryUsageByteSeconds: memoryUsage,
    memoryAllocationByteSeconds: memoryAllocation,
    memoryMaxByteSeconds: Decimal.max(memoryUsage, memoryAllocation),
    observedMs: interval.gap ? 0 : durationMs,
    gapMs: interval.gap ? durationMs : 0,
  };
}

export function bucketKey(
  b: Pick<BucketUsage, 'tenantId' | 'resourceId' | 'bucketStartMs'>,
): string {
  return `${b.tenantId}\u0000${b.resourceId}\u0000${b.bucketStartMs}`;
}

/** Adds bucket usages that share tenant, resource and bucket. Addition of exact decimals is exact. */
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
    ...a,
    cpuUsageCoreSeconds: a.cpuUsageCoreSeconds.plus(b.cpuUsageCoreSeconds),
    cpuAllocationCoreSeconds: a.cpuAllocationCoreSeconds.plus(b.cpuAllocationCoreSeconds),
    cpuMaxCoreSeconds: a.cpuMaxCoreSeconds.plus(b.cpuMaxCoreSeconds),
    memoryUsageByteSeconds: a.memoryUsageByteSeconds.plus(b.memoryUsageByteSeconds),
    memoryAllocationByteSeconds: a.memoryAllocationByteSeconds.plus(b.memoryAllocationByteSeconds),
    memoryMaxByteSeconds: a.memoryMaxByteSeconds.plus(b.memoryMaxByteSeconds),
    observedMs: a.observedMs + b.observedMs,
    gapMs: a.gapMs + b.gapMs,
  };
}
