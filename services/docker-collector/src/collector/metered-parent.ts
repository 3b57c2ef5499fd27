import { type SampleEvent } from '@metering/contracts';
import { type CgroupLocation } from '../cgroups';
import { type UsageReader } from '../reading/usage-reader';
import { type ContainerInstance } from '../sampling/container-instance';
import { type ParentResidual } from '../sampling/parent-residual';
import { type ResidualIdentity } from '../sampling/sample.factory';
import {
  type Clock,
  type CollectorLog,
  type CollectorMetrics,
  type ResidualStore,
} from './collector.ports';

/** A reading of a parent cgroup's counter. */
export interface ParentReading {
  readonly ns: bigint;
  readonly doneAt: number;
  /**
   * Listings of running containers started before this reading returned (see listedThrough):
   * it is evaluated only once a later listing has found every child running at it.
   */
  readonly listings: number;
}

/** What belongs to one residual counter of a parent: it starts afresh with each new counter. */
export interface CounterState {
  readonly residual: ParentResidual | null;
  readonly identity: ResidualIdentity | null;
  readonly previous: ParentReading | null;
  readonly publishedCount: number;
  readonly lastPublishedNs: bigint;
  readonly lastPublishedAt: number;
}

/** No counter yet: the baseline is read after the first children's readings. */
export const NO_COUNTER: CounterState = {
  residual: null,
  identity: null,
  previous: null,
  publishedCount: 0,
  lastPublishedNs: -1n,
  lastPublishedAt: 0,
};

/** A parent cgroup of followed containers, metered for its residual. */
export class MeteredParent {
  residual!: ParentResidual | null;
  identity!: ResidualIdentity | null;
  /** The parent reading of the last cycle (or the baseline): evaluated from the next cycle on. */
  previous!: ParentReading | null;
  /**
   * Readings of earlier cycles not evaluated yet, oldest first: a reading is evaluated once no
   * container that may have started before it is still being discovered, so while containers
   * keep starting the residual moves on with a slightly older reading instead of waiting for
   * a moment without any discovery in flight (which a busy host may never have).
   */
  waiting!: ParentReading[];
  publishedCount!: number;
  lastPublishedNs!: bigint;
  lastPublishedAt!: number;
  registering: Promise<void> | null = null;

  constructor(
    readonly path: string,
    readonly location: CgroupLocation,
    readonly tenantId: string | null,
    counter: CounterState = NO_COUNTER,
  ) {
    this.reset(counter);
  }

  /** The one place the counter's state is set: a new parent, a restored one, a new baseline. */
  reset(counter: CounterState = NO_COUNTER): void {
    this.residual = counter.residual;
    this.identity = counter.identity;
    this.previous = counter.previous;
    this.waiting = [];
    this.publishedCount = counter.publishedCount;
    this.lastPublishedNs = counter.lastPublishedNs;
    this.lastPublishedAt = counter.lastPublishedAt;
  }
}

/** A followed container instance as the residuals see it. */
export interface ResidualChild {
  readonly instance: ContainerInstance;
  readonly parent: MeteredParent | null;
}

/** What the residuals need of the collector: its ports, its children and its discoveries. */
export interface ResidualContext {
  readonly reader: UsageReader;
  readonly clock: Clock;
  readonly metrics: CollectorMetrics;
  readonly log: CollectorLog;
  readonly store: ResidualStore;
  readonly host: string;
  readonly meterResidual: boolean;
  readonly residualTenantOf: (parentPath: string) => string | null;
  /** The container instances followed now. */
  children(): Iterable<ResidualChild>;
  /** Listings of running containers started so far. */
  listingsStarted(): number;
  /** Listings that completed with every container they found discovered (see the collector). */
  listedThrough(): number;
  /** When the oldest discovery in flight began (Infinity: none). */
  firstDiscoveryInFlight(): number;
  /** Hands a residual sample to the publisher. */
  emit(sample: SampleEvent): void;
  /** Runs a task in the background, observed by the collector's idle/stop. */
  spawn(task: Promise<void>): void;
}
