import { type Lifecycle, type SampleEvent } from '@metering/contracts';
import { CollectorClock, type SamplePublisher } from '@metering/spool';
import { type CgroupLocation } from '../cgroups';
import { type ContainerSource } from '../discovery/docker-engine.client';
import { type TenantResolver } from '../discovery/tenant.resolver';
import { type UsageReader } from '../reading/usage-reader';
import { type ResidualSnapshot } from '../sampling/parent-residual';
import { type ResidualIdentity } from '../sampling/sample.factory';

export { type SamplePublisher } from '@metering/spool';

/**
 * The collector's time, epoch milliseconds with a fraction (sub-millisecond ordering matters):
 * CollectorClock of @metering/spool (ADR 0009) — monotonic, anchored to the wall clock, never
 * going back when the host's clock steps back.
 */
export interface Clock {
  now(): number;
  /** A wall-clock time from the engine (an exit, a start) on the same time line as `now`. */
  fromWall(wallMs: number): number;
}

/** A collector clock without metrics (benchmarks, tests); the service uses an observed one. */
export const systemClock: Clock = new CollectorClock();

/** Kinds of the read-errors metric (`kind` label). */
export type ReadErrorKind =
  | 'vanished'
  | 'read_failed'
  | 'locate_failed'
  | 'inspect_failed'
  | 'list_failed'
  | 'parent_read_failed'
  | 'counter_went_back'
  | 'contract_violation'
  | 'publish_failed'
  | 'cycle_overrun'
  | 'residual_state_failed'
  | 'followed_state_failed';

/** What the collector reports; the Prometheus adapter is CollectorMetricsAdapter. */
export interface CollectorMetrics {
  cycleCompleted(durationSeconds: number, containers: number): void;
  samplePublished(lifecycle: Lifecycle, residual: boolean): void;
  readError(kind: ReadErrorKind): void;
  /** A container that lived less than one interval ended: did any sample carry its CPU? */
  shortLived(outcome: 'caught' | 'missed'): void;
  /** CPU a parent cgroup's exited children used beyond their samples (per-tenant or not). */
  residualCpu(parentPath: string, attributed: boolean, seconds: number): void;
}

/** pino-compatible: structured fields first, then the message. */
export interface CollectorLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A parent cgroup's residual as saved for a restarted collector (ResidualStore). */
export interface PersistedParent {
  readonly path: string;
  readonly location: CgroupLocation;
  readonly tenantId: string | null;
  readonly identity: ResidualIdentity | null;
  /** The parent reading the next evaluation uses: CPU ns, and when it returned. */
  readonly previous: { readonly ns: string; readonly doneAt: number } | null;
  readonly publishedCount: number;
  readonly lastPublishedNs: string;
  readonly lastPublishedAt: number;
  readonly residual: ResidualSnapshot;
}

/**
 * What changed a residual since the last snapshot, written before the change is published:
 * a child adopted, a child sample about to be published, a child ended, a residual sample
 * about to be published. Replayed on the snapshot, it gives the state at the crash, with every
 * published sample in it (a record whose sample did not get out only makes the residual smaller).
 */
export type ResidualRecord =
  | {
      readonly kind: 'adopt';
      readonly parent: string;
      readonly child: string;
      readonly base: string;
    }
  | {
      readonly kind: 'published';
      readonly parent: string;
      readonly child: string;
      readonly at: number;
      readonly cpuNs: string;
    }
  | { readonly kind: 'ended'; readonly parent: string; readonly child: string }
  | {
      readonly kind: 'residual';
      readonly parent: string;
      readonly value: string;
      readonly at: number;
      readonly count: number;
    };

/**
 * Keeps the residuals across restarts of the collector (FileResidualStore: beside the spool).
 * Without it, CPU of containers that exit while the collector is down is not metered.
 */
export interface ResidualStore {
  /** What an earlier run on this boot saved (snapshot and records after it), or null. */
  load(): { parents: PersistedParent[]; records: ResidualRecord[] } | null;
  /** Appends a record before what it describes is published; survives a crash of the process. */
  append(record: ResidualRecord): void;
  /**
   * Replaces the snapshot (the records appended so far are in it; later ones follow it). Written
   * in the background, without blocking the caller: resolves once this state or a newer one is
   * on disk. Until then the previous snapshot and all records after it stand for the same state.
   */
  save(parents: readonly PersistedParent[]): Promise<void>;
}

/** No persistence: a restarted collector starts its residuals afresh. */
export const NO_RESIDUAL_STORE: ResidualStore = {
  load: () => null,
  append: () => undefined,
  save: () => Promise.resolve(),
};

export type LoadedFollowed =
  | { readonly kind: 'none' }
  | { readonly kind: 'loaded'; readonly samples: SampleEvent[] }
  | { readonly kind: 'unusable'; readonly problem: string };

/**
 * The container instances followed, kept across restarts (FileFollowedStore: beside the spool):
 * the last sample published for each, so a restarted collector can end those gone meanwhile.
 */
export interface FollowedStore {
  readonly path: string;
  load(): LoadedFollowed;
  /** Replaces what is kept (each sample as its JSON); `sync`: on disk before it returns. */
  save(samples: readonly Uint8Array[], sync: boolean): void;
}

export interface CollectorSettings {
  /** `host` of every sample. */
  readonly host: string;
  /** `cpu.hostCores` of every sample (absent: not said). */
  readonly hostCores?: number;
  /** Sampling cycle: every container is read and a sample published. */
  readonly intervalMs: number;
  /** Young containers are read this often between cycles (0: never). */
  readonly youngReadIntervalMs: number;
  /** …while younger than this. */
  readonly youngWindowMs: number;
  /** Full listing of running containers, besides the event stream. */
  readonly resyncIntervalMs: number;
  /** Limits are read at discovery, on `update` events and every N cycles. */
  readonly limitsEveryCycles: number;
  /** How long to wait for Docker's `die` after a container's cgroup vanished. */
  readonly dieGraceMs: number;
  readonly discoveryConcurrency: number;
  /** Meter parent cgroups' residual (false: stats-API mode, or switched off). */
  readonly meterResidual: boolean;
  /** The tenant a parent cgroup path belongs to (e.g. /metering/<tenant>), or null. */
  readonly residualTenantOf: (parentPath: string) => string | null;
}

export interface CollectorPorts {
  readonly source: ContainerSource;
  readonly reader: UsageReader;
  readonly publisher: SamplePublisher;
  readonly tenants: TenantResolver;
  readonly clock: Clock;
  readonly metrics: CollectorMetrics;
  readonly log: CollectorLog;
  /** Keeps the residuals across restarts (default: none, they start afresh). */
  readonly residualStore?: ResidualStore;
  /** Keeps the containers followed across restarts (default: none, README "Across restarts"). */
  readonly followedStore?: FollowedStore;
}
