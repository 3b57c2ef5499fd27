import { setFlagsFromString } from 'node:v8';

/**
 * Sets V8's heap growing factor to 1 + percent/100 for this process (its worker threads too):
 * after a full collection, the old generation may grow by that much before the next one starts.
 * 0 leaves V8's own factor, which under rating's 160 MB heap is ~1.3.
 *
 * Why (docs/adr/0014-rating-scale-out.md, "Full collections"): a batch's messages and samples
 * live until it commits, so they are promoted, and the old generation fills at ~0.8 KB a sample.
 * With V8's factor a full collection then comes every ~20 MB promoted, and each marks the whole
 * live heap (~50 MB, mostly the code and sources of the modules): marking on V8's helper threads
 * was the largest part of rating's CPU. Doubling halves the number of full collections.
 *
 * Node refuses this flag in NODE_OPTIONS, so it is set here, at start, before the heap grows. V8
 * reads it at each collection (a spec checks it takes effect on this Node).
 */
/**
 * The largest growth taken: the old generation five times what the last collection kept. Above
 * 100 it takes a larger --max-old-space-size to matter: V8 bounds the old generation's limit by
 * (live + that budget) / 2, ~100 MB for rating's ~45 MB live under 160 MB (ADR 14, seventh session).
 */
export const MAX_HEAP_GROWTH_PERCENT = 400;

export function applyHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT) {
    throw new RangeError(
      `heap growth must be a whole percent from 0 to ${MAX_HEAP_GROWTH_PERCENT}, got ${percent}`,
    );
  }
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
