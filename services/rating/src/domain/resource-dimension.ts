import { type MeteredSample } from './metered-sample';

/**
 * The resource dimension (ledger table `resource`): what a resource is called, kept apart from
 * the usage buckets. Rating writes a row only when it is new or says something new, so the cost
 * per sample is a map lookup, not a statement:
 * - the description (kind, name, image, flavour, host) of the sample with the latest observed
 *   time wins; an older sample never overwrites a newer description (out of order, replays),
 *   even one that wrote no row because it said what the ledger already held;
 * - first seen is the earliest observed time, last seen the latest, the latter refreshed only
 *   when it moved by `lastSeenStepMs` or more (a row per resource every few minutes at most).
 */
export interface ResourceDescription {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly kind: 'container' | 'vm';
  readonly name: string;
  readonly image: string | null;
  readonly flavour: string | null;
  readonly host: string;
}

/** A row to upsert: the description observed at `observedMs`, seen from first to last. */
export interface ResourceSighting extends ResourceDescription {
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** The observed time of the description (the upsert keeps the newer one). */
  readonly observedMs: number;
}

/** What this process knows the ledger holds (at least) for a resource. */
export interface KnownResource {
  readonly description: ResourceDescription;
  readonly observedMs: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /**
   * The latest observed time of any committed sample of the resource, written or not: a sample
   * older than this with another description is late data, not a rename.
   */
  readonly latestMs: number;
}

/**
 * A batch's rows to upsert, and every resource it saw (for the cache after the commit): its row
 * when one is written, else only its latest observed time in the batch.
 */
export interface BatchSightings {
  readonly rows: readonly ResourceSighting[];
  readonly seen: ReadonlyMap<string, ResourceSighting | number>;
}

export function resourceKey(r: { tenantId: string; resourceId: string }): string {
  return `${r.tenantId}\u0000${r.resourceId}`;
}

function describe(s: MeteredSample): ResourceDescription {
  return {
    tenantId: s.tenantId,
    resourceId: s.resourceId,
    kind: s.resourceKind,
    name: s.name ?? '',
    image: s.image ?? null,
    flavour: s.flavour ?? null,
    host: s.host,
  };
}

/** Whether the sample says what the description says. */
function describes(d: ResourceDescription, s: MeteredSample): boolean {
  return (
    d.name === (s.name ?? '') &&
    d.kind === s.resourceKind &&
    d.host === s.host &&
    d.image === (s.image ?? null) &&
    d.flavour === (s.flavour ?? null)
  );
}

/**
 * The rows a batch must upsert, given what is known (`known.get(resourceKey)`): one per resource
 * at most (a statement may not touch a row twice), in key order (batches lock rows in one order).
 * Pure: the caller records the rows in its cache only once the transaction committed.
 */
export function resourceSightings(
  samples: Iterable<MeteredSample>,
  known: (key: string) => KnownResource | undefined,
  lastSeenStepMs: number,
): BatchSightings {
  const fold = new SightingFold();
  for (const s of samples) fold.add(s);
  return fold.finish(known, lastSeenStepMs);
}

/**
 * resourceSightings one sample at a time, so a batch's samples can be folded as they are decoded
 * (batch-fold.ts): one accumulator per resource, mutated in place — a batch holds thousands of
 * samples of a few hundred resources. Kept by tenant, then resource (the decoder's interned
 * strings), so no key is built per sample, only per resource.
 */
export class SightingFold {
  private readonly byTenant = new Map<string, Map<string, SightingAcc>>();

  add(s: MeteredSample): void {
    let resources = this.byTenant.get(s.tenantId);
    if (resources === undefined)
      this.byTenant.set(s.tenantId, (resources = new Map<string, SightingAcc>()));
    const at = s.observedAtMs;
    const a = resources.get(s.resourceId);
    if (a === undefined) {
      resources.set(s.resourceId, { latest: s, first: at, last: at });
      return;
    }
    if (at >= a.latest.observedAtMs) a.latest = s;
    if (at < a.first) a.first = at;
    if (at > a.last) a.last = at;
  }

  /** The batch's rows (in key order) and what each resource's sighting leaves known. */
  finish(
    known: (key: string) => KnownResource | undefined,
    lastSeenStepMs: number,
  ): BatchSightings {
    const rows: ResourceSighting[] = [];
    const seen = new Map<string, ResourceSighting | number>();
    for (const resources of this.byTenant.values())
      for (const a of resources.values()) sight(a, known, lastSeenStepMs, rows, seen);
    rows.sort((a, b) => compareKeys(resourceKey(a), resourceKey(b)));
    return { rows, seen };
  }
}

interface SightingAcc {
  latest: MeteredSample;
  first: number;
  last: number;
}

/** One resource of the batch: its row when it says something new, else only its latest time. */
function sight(
  a: SightingAcc,
  known: (key: string) => KnownResource | undefined,
  lastSeenStepMs: number,
  rows: ResourceSighting[],
  seen: Map<string, ResourceSighting | number>,
): void {
  const key = resourceKey(a.latest);
  const was = known(key);
  const latest = a.latest;
  if (
    was !== undefined &&
    a.first >= was.firstSeenMs &&
    a.last - was.lastSeenMs < lastSeenStepMs &&
    (latest.observedAtMs <= was.latestMs || describes(was.description, latest))
  ) {
    // Nothing new for the ledger: only the latest observed time moves (no row built).
    seen.set(key, a.last);
    return;
  }
  // A batch whose latest sample is not newer than a committed one writes only to move first or
  // last seen: it carries the known description at the known observed time, so a late sample
  // never wins over a newer one that wrote no row (it said nothing new, and left the ledger's
  // observed time behind).
  const late = was !== undefined && latest.observedAtMs <= was.latestMs;
  const row: ResourceSighting = {
    ...(late ? was.description : describe(latest)),
    firstSeenMs: a.first,
    lastSeenMs: a.last,
    observedMs: late ? was.observedMs : latest.observedAtMs,
  };
  rows.push(row);
  seen.set(key, row);
}

/** What the ledger holds after `row` was upserted over `was` (the upsert's own rules). */
export function afterUpsert(was: KnownResource | undefined, row: ResourceSighting): KnownResource {
  if (was === undefined) {
    return {
      description: row,
      observedMs: row.observedMs,
      firstSeenMs: row.firstSeenMs,
      lastSeenMs: row.lastSeenMs,
      latestMs: row.lastSeenMs,
    };
  }
  const newer = row.observedMs >= was.observedMs;
  return {
    description: newer ? row : was.description,
    observedMs: Math.max(row.observedMs, was.observedMs),
    firstSeenMs: Math.min(row.firstSeenMs, was.firstSeenMs),
    lastSeenMs: Math.max(row.lastSeenMs, was.lastSeenMs),
    latestMs: Math.max(row.lastSeenMs, was.latestMs),
  };
}

/**
 * The cache entry after a committed batch: `seen` is the batch's row for the resource when it
 * upserted one, else the latest observed time in the batch (undefined: the entry was forgotten).
 */
export function afterBatch(
  was: KnownResource | undefined,
  seen: ResourceSighting | number,
): KnownResource | undefined {
  if (typeof seen !== 'number') return afterUpsert(was, seen);
  if (was === undefined) return undefined;
  return seen > was.latestMs ? { ...was, latestMs: seen } : was;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
