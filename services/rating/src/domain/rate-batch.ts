import { type InstanceState, type MeteredSample, instanceKey } from './metered-sample';
import { type Implausible, type RatingRules, type UsageInterval, rateSample } from './rate-sample';
import {
  type BucketSegment,
  type BucketUsage,
  bucketKey,
  addBuckets,
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

export interface BatchRating {
  /** The new state of every instance this batch touched, by instanceKey. */
  readonly states: ReadonlyMap<string, InstanceState>;
  /** Usage to add to the ledger, merged per tenant, resource and bucket. */
  readonly buckets: ReadonlyMap<string, BucketUsage>;
  readonly intervals: readonly UsageInterval[];
  /** The same intervals with their samples and bucket segments, in rating order. */
  readonly rated: readonly RatedInterval[];
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Samples refused as implausible; their instances stay at the last accepted reading. */
  readonly rejected: readonly {
    readonly sample: MeteredSample;
    readonly implausible: Implausible;
  }[];
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
  const states = new Map<string, InstanceState>();
  const buckets = new Map<string, BucketUsage>();
  const intervals: UsageInterval[] = [];
  const rated: RatedInterval[] = [];
  const rejected: { sample: MeteredSample; implausible: Implausible }[] = [];
  let duplicates = 0;
  let outOfOrder = 0;
  for (const sample of samples) {
    const key = instanceKey(sample);
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
        states.set(key, outcome.state);
        intervals.push(outcome.interval);
        const timeZone = timeZoneOf(sample.tenantId);
        const segments = splitIntervalSegments(outcome.interval, timeZone);
        rated.push({ sample, interval: outcome.interval, segments, timeZone });
        // An inferred final's unseen tail: gap buckets of their own, no usage (never priced).
        const tail = splitTail(outcome.interval, timeZone);
        for (const usage of [...segments.map((s) => s.usage), ...tail]) {
          const k = bucketKey(usage);
          const prev = buckets.get(k);
          buckets.set(k, prev === undefined ? usage : addBuckets(prev, usage));
        }
        break;
      }
    }
  }
  return { states, buckets, intervals, rated, duplicates, outOfOrder, rejected };
}
