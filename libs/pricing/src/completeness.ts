/**
 * Completeness: the share of the samples a resource should have produced that are present
 * (docs/product.md, "Completeness"; docs/adr/0013-completeness.md). One definition, used by rating
 * (InfluxDB), the usage API and invoices alike.
 *
 * Rating keeps, per resource and hour bucket, the counters below. Samples that declare their
 * collector's interval (`intervalMs`) are counted: every rated interval of length d expects
 * max(1, round(d / intervalMs)) samples and holds one observed sample (thinned ones, which a
 * spool dropped and the kept sample names, are neither observed nor lost: they are counted
 * apart); an inferred tail of length T (a final the collector inferred after a restart) expects
 * floor(T / intervalMs) samples and holds none. Time not covered by such samples (third-party
 * samples without `intervalMs`, rows rated before the counters existed) is judged by time: the
 * share outside gaps.
 *
 *   share = (declaredMs × min(observed, expected) / expected + undeclared time outside gaps) / life
 *
 * where life = observedMs + gapMs + inferredGapMs, and undeclared time outside gaps =
 * (life − declaredMs) − (gapMs + inferredGapMs − declaredGapMs). All exact integers: the share is
 * a fraction of bigints, rounded only where it is shown.
 */
export interface CompletenessCounters {
  /** Time between samples of an instance not longer than the gap limit. */
  readonly observedMs: bigint;
  /** Silences longer than the gap limit (MAX_GAP_MS): time in which no usage is invented. */
  readonly gapMs: bigint;
  /** Unseen tails: from an inferred final's last reading to when its end was found. */
  readonly inferredGapMs: bigint;
  readonly samplesExpected: bigint;
  readonly samplesObserved: bigint;
  /** Samples a spool dropped when full (the kept sample after them says how many). */
  readonly samplesThinned: bigint;
  /** Of the life, the time covered by samples that declared their interval. */
  readonly declaredMs: bigint;
  /** Of the gaps and tails, the part covered by samples that declared their interval. */
  readonly declaredGapMs: bigint;
}

export const NO_COUNTERS: CompletenessCounters = {
  observedMs: 0n,
  gapMs: 0n,
  inferredGapMs: 0n,
  samplesExpected: 0n,
  samplesObserved: 0n,
  samplesThinned: 0n,
  declaredMs: 0n,
  declaredGapMs: 0n,
};

export function addCounters(
  a: CompletenessCounters,
  b: CompletenessCounters,
): CompletenessCounters {
  return {
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

/** An exact share: numerator / denominator, 0 ≤ share ≤ 1, denominator > 0. */
export interface Share {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** The completeness of some counters; null when they cover no time (nothing to judge). */
export function completenessShare(c: CompletenessCounters): Share | null {
  const life = c.observedMs + c.gapMs + c.inferredGapMs;
  if (life <= 0n) return null;
  const declared = clamp(c.declaredMs, 0n, life);
  const undeclared = life - declared;
  const undeclaredGaps = clamp(c.gapMs + c.inferredGapMs - c.declaredGapMs, 0n, undeclared);
  const undeclaredPresent = undeclared - undeclaredGaps;
  if (c.samplesExpected <= 0n) {
    // Declared time without an expected sample only arises at a bucket's edge (expected samples
    // are split across buckets in proportion to time): no evidence of a missing sample.
    return { numerator: declared + undeclaredPresent, denominator: life };
  }
  const present = clamp(c.samplesObserved, 0n, c.samplesExpected);
  return {
    numerator: declared * present + undeclaredPresent * c.samplesExpected,
    denominator: life * c.samplesExpected,
  };
}

/**
 * The usage-weighted share of several resources' shares (a line's figure): Σ wᵢ·sᵢ / Σ wᵢ with
 * weights the resources' quantities on the line (exact: any common unit). Resources without a
 * share are left out; when every weight is zero, each resource with a share weighs the same.
 */
export function weightedShare(
  parts: readonly { readonly weight: bigint; readonly share: Share | null }[],
): Share | null {
  const judged = parts.filter(
    (p): p is { weight: bigint; share: Share } => p.share !== null && p.weight >= 0n,
  );
  if (judged.length === 0) return null;
  const weighted = judged.some((p) => p.weight > 0n)
    ? judged
    : judged.map((p) => ({ ...p, weight: 1n }));
  let numerator = 0n;
  let denominator = 1n;
  let total = 0n;
  for (const { weight, share } of weighted) {
    if (weight === 0n) continue;
    // numerator/denominator += weight × share, kept over a common denominator.
    numerator = numerator * share.denominator + weight * share.numerator * denominator;
    denominator *= share.denominator;
    const g = gcd(numerator, denominator);
    if (g > 1n) {
      numerator /= g;
      denominator /= g;
    }
    total += weight;
  }
  return { numerator, denominator: denominator * total };
}

/** The share as a decimal string with `places` digits, rounded down (never shown as more). */
export function shareToFixed(share: Share, places: number): string {
  const scale = 10n ** BigInt(places);
  const scaled = (share.numerator * scale) / share.denominator;
  const whole = scaled / scale;
  const fraction = (scaled % scale).toString().padStart(places, '0');
  return places === 0 ? whole.toString() : `${whole}.${fraction}`;
}

/** The share as a JavaScript number (for gauges; never for money). */
export function shareToNumber(share: Share): number {
  return Number(share.numerator) / Number(share.denominator);
}

function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
