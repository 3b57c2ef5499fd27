import { periodOf } from '@metering/pricing';
import { type InstanceState, type MeteredSample } from './metered-sample';
import { type PricingCatalog } from './price-batch';
import { type BatchFold, foldBatch } from './rate-batch';
import { type RatingRules } from './rate-sample';
import { type BatchSightings, type KnownResource, SightingFold } from './resource-dimension';
import { GaugeFold, type ResourceGauge } from './resource-gauge';
import { PieceFold, type UnpricedPiece } from './unpriced-piece';
import { type UsageWindowRules } from './usage-window';

/** What a batch's fold prices and places with: the tenants' zones and plans. */
export interface FoldCatalog {
  zoneOf(tenantId: string): string;
  readonly pricing: PricingCatalog;
}

export interface SampleFoldRules {
  readonly rules: RatingRules;
  readonly windows: UsageWindowRules;
  /** How far a resource's last seen may lag in the resource dimension (resource-dimension.ts). */
  readonly lastSeenStepMs: number;
}

/** What one batch's samples fold into: what its transaction writes and its sinks show. */
export interface SampleFold {
  readonly rating: BatchFold;
  readonly pieces: UnpricedPiece[];
  readonly gauges: readonly ResourceGauge[];
  readonly sightings: BatchSightings;
}

/**
 * Rates a batch's samples and folds them, in one pass, into what the transaction writes: the
 * states and buckets, the unpriced pieces, the raw gauges and the resource dimension's rows. No
 * rated interval, segment or plan outlives its sample's turn in the loop: the batch keeps per
 * instance and bucket, not per sample, until it commits (docs/adr/0014-rating-scale-out.md).
 * `samples` is iterated once, in order: a generator decoding them one at a time leaves no sample
 * alive past its turn either (the few a sighting or a refusal keeps aside). Pure: `loaded` are
 * the states of the batch's instances, `known` what the dimension holds.
 */
export function foldSamples(
  samples: Iterable<MeteredSample>,
  loaded: ReadonlyMap<string, InstanceState>,
  options: SampleFoldRules,
  catalog: FoldCatalog,
  known: (key: string) => KnownResource | undefined,
): SampleFold {
  const pieceFold = new PieceFold(options.windows);
  const gaugeFold = new GaugeFold();
  const sightingFold = new SightingFold();
  const rating = foldBatch(
    samples,
    loaded,
    options.rules,
    (tenant) => catalog.zoneOf(tenant),
    (rated, key) => {
      pieceFold.addRated(rated, catalog.pricing, key);
      gaugeFold.add(rated);
    },
    // Every sample is sighted, rated or not.
    (sample) => sightingFold.add(sample),
  );
  const sightings = sightingFold.finish(known, options.lastSeenStepMs);
  const pieces = pieceFold.finish(rating.states.values(), (state) =>
    periodOf(state.lastObservedAtMs, catalog.zoneOf(state.tenantId)),
  );
  return { rating, pieces, gauges: gaugeFold.gauges, sightings };
}
