import { type InstanceState, type MeteredSample, instanceKey } from './metered-sample';
import { type RatingRules, type UsageInterval, rateSample } from './rate-sample';
import { type BucketUsage, mergeBuckets, splitInterval } from './usage-bucket';

export interface BatchRating {
  /** The new state of every instance this batch touched, by instanceKey. */
  readonly states: ReadonlyMap<string, InstanceState>;
  /** Usage to add to the ledger, merged per tenant, resource and bucket. */
  readonly buckets: ReadonlyMap<string, BucketUsage>;
  readonly intervals: readonly UsageInterval[];
  readonly duplicates: number;
  readonly outOfOrder: number;
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
  const parts: BucketUsage[] = [];
  const intervals: UsageInterval[] = [];
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
      case 'rated':
        states.set(key, outcome.state);
        intervals.push(outcome.interval);
        parts.push(...splitInterval(outcome.interval, timeZoneOf(sample.tenantId)));
        break;
    }
  }
  return { states, buckets: mergeBuckets(parts), intervals, duplicates, outOfOrder };
}
