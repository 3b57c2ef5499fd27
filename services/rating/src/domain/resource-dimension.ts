import { type MeteredSample } from './metered-sample';

/**
 * The resource dimension (ledger table `resource`): what a resource is called, kept apart from
 * the usage buckets. Rating writes a row only when it is new or says something new, so the cost
 * per sample is a map lookup, not a statement:
 * - the description (kind, name, image, flavour, host) of the sample with the latest observed
 *   time wins; an older sample never overwrites a newer description (out of order, replays);
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

/** A batch's rows to upsert, and every resource it saw (for the cache after the commit). */
export interface BatchSightings {
  readonly rows: readonly ResourceSighting[];
  readonly seen: ReadonlyMap<string, ResourceSighting>;
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

function sameDescription(a: ResourceDescription, b: ResourceDescription): boolean {
  return (
    a.name === b.name &&
    a.kind === b.kind &&
    a.host === b.host &&
    a.image === b.image &&
    a.flavour === b.flavour
  );
}

/**
 * The rows a batch must upsert, given what is known (`known.get(resourceKey)`): one per resource
 * at most (a statement may not touch a row twice), in key order (batches lock rows in one order).
 * Pure: the caller records the rows in its cache only once the transaction committed.
 */
export function resourceSightings(
  samples: readonly MeteredSample[],
  known: (key: string) => KnownResource | undefined,
  lastSeenStepMs: number,
): BatchSightings {
  const merged = new Map<string, ResourceSighting>();
  for (const s of samples) {
    const key = resourceKey(s);
    const at = s.observedAtMs;
    const current = merged.get(key);
    if (current === undefined) {
      merged.set(key, { ...describe(s), firstSeenMs: at, lastSeenMs: at, observedMs: at });
      continue;
    }
    const newer = at >= current.observedMs;
    merged.set(key, {
      ...(newer ? describe(s) : current),
      firstSeenMs: Math.min(current.firstSeenMs, at),
      lastSeenMs: Math.max(current.lastSeenMs, at),
      observedMs: newer ? at : current.observedMs,
    });
  }
  const rows: ResourceSighting[] = [];
  for (const [key, row] of merged) {
    const was = known(key);
    if (
      was === undefined ||
      row.firstSeenMs < was.firstSeenMs ||
      row.lastSeenMs - was.lastSeenMs >= lastSeenStepMs ||
      (row.observedMs > was.latestMs && !sameDescription(row, was.description))
    ) {
      rows.push(row);
    }
  }
  rows.sort((a, b) => compareKeys(resourceKey(a), resourceKey(b)));
  return { rows, seen: merged };
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
 * The cache entry after a committed batch: `written` is the batch's row for the resource when it
 * upserted one; otherwise only the latest observed time moves.
 */
export function afterBatch(
  was: KnownResource | undefined,
  seen: ResourceSighting,
  written: boolean,
): KnownResource {
  if (written || was === undefined) return afterUpsert(was, seen);
  return seen.lastSeenMs > was.latestMs ? { ...was, latestMs: seen.lastSeenMs } : was;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
