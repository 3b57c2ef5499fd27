import { BUCKET_MS } from '@metering/pricing';
import { type CpuUnits, type MemoryUnits, maxOf, nanoCores } from './exact-units';
import { type UsageInterval, expectedInTail } from './rate-sample';
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
  /**
   * The rest of the completeness counters (libs/pricing completeness.ts): unseen tails of inferred
   * finals, samples expected / observed / thinned, and the time (and gap time) covered by samples
   * that declared their interval.
   */
  readonly inferredGapMs: number;
  readonly samplesExpected: number;
  readonly samplesObserved: number;
  readonly samplesThinned: number;
  readonly declaredMs: number;
  readonly declaredGapMs: number;
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
  const thinned = interval.samplesThinned ?? 0;
  const expectedAll = interval.samplesExpected ?? 0;
  if (total <= 0) {
    // An instant: its CPU belongs to the bucket it happened in; no level has any duration.
    const bucket = calendar.hourBucketStart(toMs);
    const usage = segment(interval, bucket, 0, interval.cpuUsageNs, expectedAll, 1, thinned);
    return [{ usage, fromMs: toMs, toMs }];
  }
  const q = interval.cpuUsageNs;
  let start = fromMs;
  const firstBucket = calendar.hourBucketStart(start);
  // The common case, an interval inside one bucket, without bigint division.
  if (toMs <= firstBucket + BUCKET_MS) {
    const usage = segment(interval, firstBucket, total, q, expectedAll, 1, thinned);
    return [{ usage, fromMs, toMs }];
  }
  const out: BucketSegment[] = [];
  const t = BigInt(total);
  const e = BigInt(expectedAll);
  let allotted = 0n;
  let expectedAllotted = 0n;
  while (start < toMs) {
    const bucket = calendar.hourBucketStart(start);
    const end = Math.min(bucket + BUCKET_MS, toMs);
    const cumulative = (q * BigInt(end - fromMs)) / t;
    // Expected samples are spread like CPU (exact parts, adding up to the whole); the sample
    // itself, and the thinned ones it stands for, count where it was taken: the last part.
    const expected = (e * BigInt(end - fromMs)) / t;
    const last = end === toMs;
    const usage = segment(
      interval,
      bucket,
      end - start,
      cumulative - allotted,
      Number(expected - expectedAllotted),
      last ? 1 : 0,
      last ? thinned : 0,
    );
    out.push({ usage, fromMs: start, toMs: end });
    allotted = cumulative;
    expectedAllotted = expected;
    start = end;
  }
  return out;
}

/**
 * The buckets of an inferred final's unseen tail (UsageInterval.tailMs): from its last reading
 * to when the collector found the resource gone. A gap of its own cause: no usage, no invented
 * level; the samples a collector would have produced over it are expected and missing.
 */
export function splitTail(interval: UsageInterval, timeZone: string): BucketUsage[] {
  const tailMs = interval.tailMs ?? 0;
  if (tailMs <= 0) return [];
  const calendar = zoneCalendar(timeZone);
  const fromMs = interval.toMs;
  const toMs = fromMs + tailMs;
  const intervalMs = interval.intervalMs ?? null;
  const declared = intervalMs !== null;
  const e = BigInt(expectedInTail(tailMs, intervalMs));
  const t = BigInt(tailMs);
  const out: BucketUsage[] = [];
  let start = fromMs;
  let expectedAllotted = 0n;
  while (start < toMs) {
    const bucket = calendar.hourBucketStart(start);
    const end = Math.min(bucket + BUCKET_MS, toMs);
    const expected = (e * BigInt(end - fromMs)) / t;
    const ms = end - start;
    out.push({
      ...emptyBucket(interval, bucket),
      inferredGapMs: ms,
      samplesExpected: Number(expected - expectedAllotted),
      declaredMs: declared ? ms : 0,
      declaredGapMs: declared ? ms : 0,
    });
    expectedAllotted = expected;
    start = end;
  }
  return out;
}

/** A bucket of the resource with nothing in it yet (zero quantities and counts). */
export function emptyBucket(
  interval: Pick<UsageInterval, 'tenantId' | 'resourceKind' | 'resourceId'>,
  bucketStartMs: number,
): BucketUsage {
  return {
    tenantId: interval.tenantId,
    resourceKind: interval.resourceKind,
    resourceId: interval.resourceId,
    bucketStartMs,
    cpuUsage: 0n,
    cpuAllocation: 0n,
    cpuMax: 0n,
    memoryUsage: 0n,
    memoryAllocation: 0n,
    memoryMax: 0n,
    observedMs: 0,
    gapMs: 0,
    inferredGapMs: 0,
    samplesExpected: 0,
    samplesObserved: 0,
    samplesThinned: 0,
    declaredMs: 0,
    declaredGapMs: 0,
  };
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
  samplesExpected: number,
  samplesObserved: number,
  samplesThinned: number,
): BucketUsage {
  const declared = (interval.intervalMs ?? null) !== null;
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
    inferredGapMs: 0,
    samplesExpected: declared ? samplesExpected : 0,
    // Only samples that declare an interval are counted: the counts and the declared time
    // describe the same samples (libs/pricing completeness.ts).
    samplesObserved: declared ? samplesObserved : 0,
    samplesThinned: declared ? samplesThinned : 0,
    declaredMs: declared ? durationMs : 0,
    declaredGapMs: declared && interval.gap ? durationMs : 0,
  };
}

export function bucketKey(
  b: Pick<BucketUsage, 'tenantId' | 'resourceId' | 'bucketStartMs'>,
): string {
  return bucketKeyOf(b.tenantId, b.resourceId, b.bucketStartMs);
}

/** bucketKey of the three parts, without an object to hold them. */
export function bucketKeyOf(tenantId: string, resourceId: string, bucketStartMs: number): string {
  return `${tenantId}\u0000${resourceId}\u0000${bucketStartMs}`;
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
    inferredGapMs: a.inferredGapMs + b.inferredGapMs,
    samplesExpected: a.samplesExpected + b.samplesExpected,
    samplesObserved: a.samplesObserved + b.samplesObserved,
    samplesThinned: a.samplesThinned + b.samplesThinned,
    declaredMs: a.declaredMs + b.declaredMs,
    declaredGapMs: a.declaredGapMs + b.declaredGapMs,
  };
}
