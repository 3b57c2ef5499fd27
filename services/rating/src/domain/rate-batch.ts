import { type InstanceState, type MeteredSample, instanceKey } from './metered-sample';
import { type Implausible, type RatingRules, type UsageInterval, rateSample } from './rate-sample';
import {
  type BucketSegment,
  type BucketUsage,
  addBuckets,
  bucketKey,
  splitIntervalSegments,
  splitTail,
} from './usage-bucket';

/** One accepted sample: the interval it closes and that interval's parts per bucket. */
export interface RatedInterval {
  readonly sample: MeteredSample;
  readonly interval: UsageInterval;
  /** In time order; never empty. */
  readonly segments: readonly BucketSegment[];
  /** The billing zone the segments were cut in. */
  readonly timeZone: string;
}

/** What a batch's rating keeps: the states and bucket sums, and counts of what it rated. */
export interface BatchFold {
  /** The new state of every instance this batch touched, by instanceKey. */
  readonly states: ReadonlyMap<string, InstanceState>;
  /** Usage to add to the ledger, merged per tenant, resource and bucket. */
  readonly buckets: ReadonlyMap<string, BucketUsage>;
  /** Samples rated (each closing one interval). */
  readonly ratedCount: number;
  /** Intervals longer than the rules allow (only their last part rated), and the CPU not rated. */
  readonly clipped: number;
  readonly clippedCpuNs: bigint;
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Samples refused as implausible; their instances stay at the last accepted reading. */
  readonly rejected: readonly {
    readonly sample: MeteredSample;
    readonly implausible: Implausible;
  }[];
}

export interface BatchRating extends BatchFold {
  readonly intervals: readonly UsageInterval[];
  /** The same intervals with their samples and bucket segments, in rating order. */
  readonly rated: readonly RatedInterval[];
}

/**
 * Rates samples in order against the known instance states. Pure: the caller loads the states
 * of the batch's instances, and commits the returned states together with the buckets.
 */
export function rateBatch(
  samples: Iterable<MeteredSample>,
  known: ReadonlyMap<string, InstanceState>,
  rules: RatingRules,
  timeZoneOf: (tenantId: string) => string,
): BatchRating {
  const rated: RatedInterval[] = [];
  const fold = foldBatch(samples, known, rules, timeZoneOf, (r) => rated.push(r));
  return { ...fold, intervals: rated.map((r) => r.interval), rated };
}

/**
 * rateBatch in one pass that keeps no rated interval: each is handed to `each` as it is rated
 * (in rating order, with its instance's key) and is garbage once `each` returns, unless `each` keeps it. A batch's
 * samples, intervals and segments then die young instead of living until the batch commits,
 * which is what garbage collection charges for (docs/adr/0014-rating-scale-out.md). `samples` is
 * iterated once; `seen`, when given, is handed every sample first, rated or not.
 */
export function foldBatch(
  samples: Iterable<MeteredSample>,
  known: ReadonlyMap<string, InstanceState>,
  rules: RatingRules,
  timeZoneOf: (tenantId: string) => string,
  each: (rated: RatedInterval, instanceKey: string) => void,
  seen?: (sample: MeteredSample) => void,
): BatchFold {
  const states = new Map<string, InstanceState>();
  const sums = new BucketSums();
  const keys = new InstanceKeys();
  const rejected: { sample: MeteredSample; implausible: Implausible }[] = [];
  let ratedCount = 0;
  let clipped = 0;
  let clippedCpuNs = 0n;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const sample of samples) {
    seen?.(sample);
    const key = keys.of(sample);
    const outcome = rateSample(states.get(key) ?? known.get(key), sample, rules);
    switch (outcome.kind) {
      case 'ignored':
        if (outcome.reason === 'duplicate') duplicates += 1;
        else outOfOrder += 1;
        break;
      case 'rejected':
        rejected.push({ sample, implausible: outcome.implausible });
        break;
      case 'rated': {
        const interval = outcome.interval;
        states.set(key, outcome.state);
        ratedCount += 1;
        if (interval.clippedMs !== 0) {
          clipped += 1;
          clippedCpuNs += interval.clippedCpuNs;
        }
        const timeZone = timeZoneOf(sample.tenantId);
        const segments = splitIntervalSegments(interval, timeZone);
        for (const s of segments) sums.add(s.usage);
        // An inferred final's unseen tail: gap buckets of their own, no usage (never priced).
        if ((interval.tailMs ?? 0) > 0) {
          for (const usage of splitTail(interval, timeZone)) sums.add(usage);
        }
        each({ sample, interval, segments, timeZone }, key);
        break;
      }
    }
  }
  return {
    states,
    buckets: sums.buckets(),
    ratedCount,
    clipped,
    clippedCpuNs,
    duplicates,
    outOfOrder,
    rejected,
  };
}

/**
 * Each instance's key (instanceKey), built once per instance and batch instead of once per sample:
 * kept by resource, then instance (the decoder's interned strings, whose hashes are cached).
 */
class InstanceKeys {
  private readonly byResource = new Map<string, Map<string, string>>();

  of(s: { resourceId: string; instanceId: string }): string {
    let instances = this.byResource.get(s.resourceId);
    if (instances === undefined)
      this.byResource.set(s.resourceId, (instances = new Map<string, string>()));
    let key = instances.get(s.instanceId);
    if (key === undefined) instances.set(s.instanceId, (key = instanceKey(s)));
    return key;
  }
}

type MutableUsage = { -readonly [K in keyof BucketUsage]: BucketUsage[K] };

/** A bucket of the batch: its usage, and whether that object is the batch's own to add to. */
interface BucketSlot {
  usage: BucketUsage;
  own: boolean;
}

/**
 * The batch's usage per tenant, resource and bucket. A bucket's first usage is kept as it is (a
 * segment's object, left as rated); a second makes a sum of the batch's own, to which later ones
 * are added in place, so a bucket costs one object per batch instead of one per sample. Kept by
 * tenant, resource and bucket start, so no key is built per sample (only per bucket, in
 * `buckets`). Integer addition is exact.
 */
class BucketSums {
  private readonly byTenant = new Map<string, Map<string, Map<number, BucketSlot>>>();
  /** In the order the buckets were first added to. */
  private readonly slots: BucketSlot[] = [];

  add(usage: BucketUsage): void {
    let resources = this.byTenant.get(usage.tenantId);
    if (resources === undefined)
      this.byTenant.set(usage.tenantId, (resources = new Map<string, Map<number, BucketSlot>>()));
    let buckets = resources.get(usage.resourceId);
    if (buckets === undefined)
      resources.set(usage.resourceId, (buckets = new Map<number, BucketSlot>()));
    const slot = buckets.get(usage.bucketStartMs);
    if (slot === undefined) {
      const fresh: BucketSlot = { usage, own: false };
      buckets.set(usage.bucketStartMs, fresh);
      this.slots.push(fresh);
      return;
    }
    if (!slot.own) {
      slot.usage = { ...slot.usage };
      slot.own = true;
    }
    const m = slot.usage as MutableUsage;
    m.cpuUsage += usage.cpuUsage;
    m.cpuAllocation += usage.cpuAllocation;
    m.cpuMax += usage.cpuMax;
    m.memoryUsage += usage.memoryUsage;
    m.memoryAllocation += usage.memoryAllocation;
    m.memoryMax += usage.memoryMax;
    m.observedMs += usage.observedMs;
    m.gapMs += usage.gapMs;
    m.inferredGapMs += usage.inferredGapMs;
    m.samplesExpected += usage.samplesExpected;
    m.samplesObserved += usage.samplesObserved;
    m.samplesThinned += usage.samplesThinned;
    m.declaredMs += usage.declaredMs;
    m.declaredGapMs += usage.declaredGapMs;
  }

  /** Every bucket's usage over the batch, by bucketKey, in the order first added to. */
  buckets(): Map<string, BucketUsage> {
    const out = new Map<string, BucketUsage>();
    for (const { usage } of this.slots) {
      const key = bucketKey(usage);
      const same = out.get(key);
      // Two buckets with one key: only ids holding a NUL (the contract refuses control
      // characters) could make them; summed as one, as a map by key always did.
      out.set(key, same === undefined ? usage : addBuckets(same, usage));
    }
    return out;
  }
}
