import { ContractViolationError, type SampleEvent } from '@metering/contracts';
import { type CgroupLimits, type CgroupLocation } from '../cgroups';
import { type ContainerEvent } from '../discovery/container-event';
import { type ContainerSource } from '../discovery/docker-engine.client';
import { type InspectedContainer } from '../discovery/inspected-container';
import { type TenantResolver } from '../discovery/tenant.resolver';
import { type UsageReader, type UsageTarget } from '../reading/usage-reader';
import { UsageVanishedError } from '../reading/usage.errors';
import { ContainerInstance } from '../sampling/container-instance';
import { ParentResidual } from '../sampling/parent-residual';
import { identityOf, type Reading } from '../sampling/reading';
import {
  type ResidualIdentity,
  residualIdentityOf,
  residualSample,
} from '../sampling/sample.factory';
import { ConcurrencyLimiter } from '../shared/concurrency-limiter';
import { FollowedContainers } from './followed-containers';
import {
  type Clock,
  type CollectorLog,
  type CollectorMetrics,
  type FollowedStore,
  NO_RESIDUAL_STORE,
  type PersistedParent,
  type ResidualRecord,
  type ResidualStore,
  type SamplePublisher,
} from './collector.ports';

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

/** One container instance being followed. */
interface Tracked {
  readonly instance: ContainerInstance;
  target: UsageTarget;
  readonly configuredLimits: CgroupLimits;
  limits: CgroupLimits | null;
  limitsDue: boolean;
  parent: ParentState | null;
  /** Reads and the ending of one instance run one after another, in order. */
  chain: Promise<void>;
  busy: number;
  /** Its cgroup vanished; waiting for Docker's `die` to end it with the exit time. */
  vanishedTimer: NodeJS.Timeout | null;
}

/** A parent cgroup of followed containers, metered for its residual. */
interface ParentState {
  readonly path: string;
  readonly location: CgroupLocation;
  readonly tenantId: string | null;
  residual: ParentResidual | null;
  identity: ResidualIdentity | null;
  registering: Promise<void> | null;
  /** The parent reading of the last cycle (or the baseline): evaluated from the next cycle on. */
  previous: ParentReading | null;
  /**
   * Readings of earlier cycles not evaluated yet, oldest first: a reading is evaluated once no
   * container that may have started before it is still being discovered, so while containers
   * keep starting the residual moves on with a slightly older reading instead of waiting for
   * a moment without any discovery in flight (which a busy host may never have).
   */
  waiting: ParentReading[];
  publishedCount: number;
  lastPublishedNs: bigint;
  lastPublishedAt: number;
}

/** A reading of a parent cgroup's counter. */
interface ParentReading {
  readonly ns: bigint;
  readonly doneAt: number;
  /**
   * Listings of running containers started before this reading returned (see listedThrough):
   * it is evaluated only once a later listing has found every child running at it.
   */
  readonly listings: number;
}

/** A start event handled later than this after the parent reading may still be in flight. */
const DISCOVERY_SLACK_MS = 1_000;
/** Parent readings kept for evaluation while discoveries are in flight (a minute at 5 s). */
const MAX_WAITING_READINGS = 12;

/**
 * The docker-collector's core: follows every container through Docker's events and periodic
 * listings, reads its usage (cgroup files; the stats API as a fallback), and publishes
 * `metering.samples.v1`: a `start` sample as soon as a container starts, a `running` sample
 * every cycle, a `final` sample when it dies. Short-lived containers are read every few
 * hundred ms while young, so their final sample carries almost all of their CPU time; what
 * is left (the milliseconds after the last reading) is metered per tenant as the residual of
 * their parent cgroup (ParentResidual). No framework, engine or Kafka code: ports only.
 */
export class ContainerCollector {
  private readonly tracked = new Map<string, Tracked>();
  private readonly discovering = new Map<string, { promise: Promise<void>; since: number }>();
  private readonly parents = new Map<string, ParentState>();
  private readonly discoveryLimiter: ConcurrencyLimiter;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Young reads' timer: armed only while a container is young (an empty host sleeps). */
  private youngTimer: NodeJS.Timeout | null = null;
  private started = false;
  private readonly background = new Set<Promise<void>>();
  private cycle: Promise<void> | null = null;
  private cycleCount = 0;
  private stopped = false;
  /** During the first listing, parents get their baseline only once all children were read. */
  private bootstrapping = false;
  private lastCycleEndedAt: number | null = null;
  /** Listings of running containers started so far. */
  private listingsStarted = 0;
  /**
   * Listing number n completed, with every container it found discovered: every child running
   * at a parent reading with `listings < listedThrough` that still runs is then followed. A
   * child unknown at an evaluated reading has its CPU in the residual; one found later (a missed
   * `start` event, found by a listing) would be counted twice (see ParentResidual).
   */
  private listedThrough = 0;
  /** Containers whose last discovery failed (inspect or locate): a listing does not cover them. */
  private readonly discoveryFailed = new Set<string>();
  private readonly store: ResidualStore;
  /** The instances followed, kept across restarts (README, "Across restarts"). */
  private readonly followed: FollowedContainers;

  constructor(
    private readonly ports: CollectorPorts,
    private readonly settings: CollectorSettings,
  ) {
    this.discoveryLimiter = new ConcurrencyLimiter(settings.discoveryConcurrency);
    this.store = ports.residualStore ?? NO_RESIDUAL_STORE;
    this.followed = new FollowedContainers(ports);
  }

  /** Containers currently followed. */
  get containerCount(): number {
    return this.tracked.size;
  }

  /** When the last cycle ended (epoch ms), for health. */
  get lastCycleAt(): number | null {
    return this.lastCycleEndedAt;
  }

  /** Discovers what runs now, then cycles, young reads and resyncs on their timers. */
  async start(): Promise<void> {
    this.bootstrapping = true;
    this.followed.load();
    try {
      const restored = await this.dropRecreatedParents(this.restoreResiduals());
      await this.resync();
      this.endGoneChildren(restored);
      // Every child's first reading is in: each gets a base from before the baseline.
      await Promise.all([...this.parents.values()].map((p) => this.ensureBaseline(p)));
      this.saveResiduals();
      this.followed.save();
    } finally {
      this.bootstrapping = false;
    }
    const every = (ms: number, task: () => Promise<void>): void => {
      if (ms > 0) this.timers.push(setInterval(() => this.spawn(task()), ms));
    };
    every(this.settings.intervalMs, () => this.runCycle());
    every(this.settings.resyncIntervalMs, () => this.resync());
    this.started = true;
    this.armYoungReads();
  }

  /** Stops the timers and waits for work in flight. Running containers get no final sample. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    if (this.youngTimer !== null) clearInterval(this.youngTimer);
    this.youngTimer = null;
    for (const t of this.tracked.values()) {
      if (t.vanishedTimer !== null) clearTimeout(t.vanishedTimer);
    }
    await this.idle();
  }

  /** Resolves once no cycle, discovery, read or ending is in flight. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [
        ...this.background,
        ...[...this.discovering.values()].map((d) => d.promise),
        ...[...this.tracked.values()].map((t) => t.chain),
        ...(this.cycle === null ? [] : [this.cycle]),
      ];
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
      if (
        this.background.size === 0 &&
        this.discovering.size === 0 &&
        this.cycle === null &&
        [...this.tracked.values()].every((t) => t.busy === 0)
      ) {
        return;
      }
    }
  }

  /** An engine event (from DockerEventsWatcher). Idempotent: replays after a reconnect are fine. */
  handleEvent(event: ContainerEvent): void {
    if (this.stopped) return;
    switch (event.action) {
      case 'start':
        this.spawn(this.discover(event.containerId, true));
        return;
      case 'die':
      case 'destroy':
        // The engine's time is the host's wall clock: onto the collector's time line.
        this.spawn(this.onExit(event.containerId, this.ports.clock.fromWall(event.at)));
        return;
      case 'kill':
        // Sent before the signal is delivered: the process may still be there to be read.
        this.withTracked(event.containerId, (t) => this.enqueue(t, () => this.read(t, false)));
        return;
      case 'update':
        this.withTracked(event.containerId, (t) => {
          t.limitsDue = true;
        });
        return;
    }
  }

  /** Lists running containers: discovers new ones, ends followed ones that are gone. */
  resync(): Promise<void> {
    return this.list(true);
  }

  /**
   * Lists running containers and discovers the ones not followed yet; `endGone`: also ends
   * followed ones missing from the listing. Once all of it is done, the listing covers every
   * parent reading that returned before it started (listedThrough).
   */
  private async list(endGone: boolean): Promise<void> {
    const listing = ++this.listingsStarted;
    const listedAt = this.ports.clock.now();
    let ids: string[];
    try {
      ids = await this.ports.source.listRunning();
    } catch (error) {
      this.ports.metrics.readError('list_failed');
      this.ports.log.warn({ err: error }, 'listing containers failed; retrying at the next resync');
      return;
    }
    const running = new Set(ids);
    const unknown = ids.filter((id) => !this.tracked.has(id));
    const work: Array<Promise<void>> = unknown.map((id) => this.discover(id, false));
    for (const [id, t] of endGone ? this.tracked : []) {
      // Only instances followed before the listing: a younger one may just be missing from it.
      if (!running.has(id) && t.instance.trackedSince < listedAt) {
        work.push(this.enqueue(t, () => this.end(t, null)));
      }
    }
    await Promise.all(work);
    if (this.followed.unsettled) {
      await this.followed.settle(
        running,
        (id) => this.tracked.get(id)?.instance.identity.instanceId,
        (sample) => this.emit(sample, false),
      );
    }
    for (const id of this.discoveryFailed) if (!running.has(id)) this.discoveryFailed.delete(id);
    // A container that could not be discovered may still run unknown: not covered.
    if (this.stopped || unknown.some((id) => this.discoveryFailed.has(id))) return;
    if (listing > this.listedThrough) this.listedThrough = listing;
  }

  /** One sampling cycle. Skipped (and counted) while the previous one still runs. */
  runCycle(): Promise<void> {
    if (this.cycle !== null) {
      this.ports.metrics.readError('cycle_overrun');
      return Promise.resolve();
    }
    const cycle = this.cycleOnce().finally(() => {
      this.cycle = null;
    });
    this.cycle = cycle;
    return cycle;
  }

  /** Reads young containers (not published: their final sample will carry the last one). */
  readYoung(): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (const t of this.tracked.values()) {
      if (t.busy > 0 || !this.isYoung(t)) continue;
      work.push(this.enqueue(t, () => this.read(t, false)));
    }
    return Promise.all(work).then(() => undefined);
  }

  private isYoung(t: Tracked): boolean {
    // A stats-API reading costs the engine about a second: never more often than cycles.
    if (t.vanishedTimer !== null || t.target.kind !== 'cgroup') return false;
    return this.ports.clock.now() - t.instance.startedAtMs < this.settings.youngWindowMs;
  }

  /** Starts the young reads' timer if a container is young; it stops once none is. */
  private armYoungReads(): void {
    const ms = this.settings.youngReadIntervalMs;
    if (!this.started || this.stopped || ms <= 0 || this.youngTimer !== null) return;
    if (![...this.tracked.values()].some((t) => this.isYoung(t))) return;
    this.youngTimer = setInterval(() => {
      if ([...this.tracked.values()].some((t) => this.isYoung(t))) {
        this.spawn(this.readYoung());
      } else if (this.youngTimer !== null) {
        clearInterval(this.youngTimer);
        this.youngTimer = null;
      }
    }, ms);
  }

  private async cycleOnce(): Promise<void> {
    const started = this.ports.clock.now();
    this.cycleCount += 1;
    const refreshLimits = this.cycleCount % Math.max(1, this.settings.limitsEveryCycles) === 0;

    // Parents first: every child sample of this cycle is then read after its parent.
    const parentReadings = new Map<ParentState, ParentReading>();
    for (const parent of this.parents.values()) {
      if (parent.residual === null) continue;
      try {
        const ns = await this.ports.reader.readParentCpuNs(parent.location);
        const doneAt = this.ports.clock.now();
        parentReadings.set(parent, { ns, doneAt, listings: this.listingsStarted });
      } catch (error) {
        this.parentReadFailed(parent, error);
      }
    }
    // A listing after the parent readings, so that the next cycles can evaluate them: children
    // whose `start` event was missed are found now, not at the next resync (a whole
    // RESYNC_INTERVAL_MS, or never, during which the residual would carry their CPU too).
    // In the background: discoveries may be slow, the cycle does not wait for them.
    if (parentReadings.size > 0) this.spawn(this.list(false));

    await Promise.all(
      [...this.tracked.values()]
        .filter((t) => t.vanishedTimer === null)
        .map((t) => this.enqueue(t, () => this.read(t, true, refreshLimits || t.limitsDue))),
    );

    for (const [parent, reading] of parentReadings) this.settleParent(parent, reading);
    this.saveResiduals();
    this.followed.save();

    const ended = this.ports.clock.now();
    this.lastCycleEndedAt = ended;
    this.ports.metrics.cycleCompleted((ended - started) / 1000, this.tracked.size);
  }

  private discover(id: string, fromStartEvent: boolean): Promise<void> {
    const inflight = this.discovering.get(id);
    if (inflight !== undefined) return inflight.promise;
    const promise = this.discoveryLimiter
      .run(() => this.discoverNow(id, fromStartEvent))
      .finally(() => this.discovering.delete(id));
    this.discovering.set(id, { promise, since: this.ports.clock.now() });
    return promise;
  }

  private async discoverNow(id: string, fromStartEvent: boolean): Promise<void> {
    if (this.stopped) return;
    let container: InspectedContainer | null;
    try {
      container = await this.ports.source.inspect(id);
      this.discoveryFailed.delete(id);
    } catch (error) {
      this.discoveryFailed.add(id);
      this.ports.metrics.readError('inspect_failed');
      this.ports.log.warn({ err: error, containerId: id }, 'inspect failed');
      return;
    }
    if (container === null || !container.running) {
      // Started and gone before we could look: only its parent cgroup has its CPU time.
      if (fromStartEvent) this.ports.metrics.shortLived('missed');
      return;
    }
    const identity = identityOf(container, this.ports.tenants.tenantOf(container.labels));
    const existing = this.tracked.get(id);
    if (existing !== undefined) {
      if (existing.instance.identity.instanceId === identity.instanceId) return;
      // A restart whose `die` we missed: the old instance ended when it last finished.
      const finished = container.finishedAt === null ? NaN : Date.parse(container.finishedAt);
      const exitWall =
        finished >= Date.parse(existing.instance.identity.startedAt)
          ? finished
          : Date.parse(identity.startedAt);
      const exitAt = this.ports.clock.fromWall(exitWall);
      await this.enqueue(existing, () => this.end(existing, exitAt));
    }
    let target: UsageTarget;
    try {
      target = await this.ports.reader.locate(container);
    } catch (error) {
      this.discoveryFailed.add(id);
      this.ports.metrics.readError('locate_failed');
      this.ports.log.warn(
        { err: error, containerId: id },
        'cannot locate the usage of a container',
      );
      return;
    }
    const t: Tracked = {
      instance: new ContainerInstance(
        identity,
        this.ports.clock.now(),
        this.ports.clock.fromWall(Date.parse(identity.startedAt)),
      ),
      target,
      configuredLimits: container.configuredLimits,
      limits: null,
      limitsDue: true,
      parent: null,
      chain: Promise.resolve(),
      busy: 0,
      vanishedTimer: null,
    };
    this.tracked.set(id, t);
    this.attachParent(t);
    this.armYoungReads();
    await this.enqueue(t, async () => {
      await this.read(t, false, true);
      // A new parent's baseline right after its first child's reading: what the child uses
      // in between would be missing from the residual.
      if (t.parent !== null && !this.bootstrapping) await this.ensureBaseline(t.parent);
      this.publishLast(t);
    });
  }

  private async onExit(id: string, at: number): Promise<void> {
    // A `die` right after `start`: let the discovery (and its first reading) finish first.
    await this.discovering.get(id)?.promise;
    const t = this.tracked.get(id);
    if (t === undefined) return;
    await this.enqueue(t, async () => {
      // Usually too late (the cgroup goes before `die`), but free when it is not.
      if (t.vanishedTimer === null) await this.read(t, false);
      await this.end(t, at);
    });
  }

  /** One reading; published as a sample when `publish`. Runs in the instance's chain. */
  private async read(t: Tracked, publish: boolean, withLimits = false): Promise<void> {
    if (t.instance.finalized || t.vanishedTimer !== null) return;
    const at = this.ports.clock.now();
    let snapshot;
    try {
      snapshot = await this.ports.reader.read(t.target, withLimits || t.limits === null);
    } catch (error) {
      if (error instanceof UsageVanishedError) {
        this.ports.metrics.readError('vanished');
        this.awaitDie(t);
      } else {
        this.ports.metrics.readError('read_failed');
        this.ports.log.warn(
          { err: error, containerId: t.instance.identity.containerId },
          'read failed',
        );
      }
      return;
    }
    if (snapshot.limits !== null) {
      t.limits = snapshot.limits;
      t.limitsDue = false;
    }
    const reading: Reading = {
      at,
      doneAt: this.ports.clock.now(),
      cpuUsageNs: snapshot.cpuUsageNs,
      memoryWorkingSetBytes: snapshot.memoryWorkingSetBytes,
      limits: t.limits ?? t.configuredLimits,
    };
    const outcome = t.instance.record(reading);
    if (outcome === 'counter-went-back') {
      // A fresh cgroup at the same path: a restart whose events were missed. Look again.
      this.ports.metrics.readError('counter_went_back');
      this.spawn(this.rediscover(t));
    }
    if (outcome === 'accepted' && publish) this.publishLast(t);
  }

  /** A sample of the instance's last reading, unless it was published already. */
  private publishLast(t: Tracked): void {
    const sample = t.instance.publish(this.settings.host);
    const reading = t.instance.lastPublished;
    if (sample === null || reading === null) return;
    this.recordPublished(t, reading.at, reading.cpuUsageNs);
    this.emit(sample, false);
    t.parent?.residual?.childPublished(t.instance.key, reading.at, reading.cpuUsageNs);
  }

  /**
   * The cgroup is gone, so the container has exited; Docker's `die` (with the exit time)
   * follows within milliseconds. If it does not come (events missed), end it by inspect.
   */
  private awaitDie(t: Tracked): void {
    if (t.vanishedTimer !== null || t.instance.finalized) return;
    t.vanishedTimer = setTimeout(() => {
      this.spawn(this.enqueue(t, () => this.end(t, null)));
    }, this.settings.dieGraceMs);
  }

  /** Ends an instance with its final sample. Runs in the instance's chain; idempotent. */
  private async end(t: Tracked, exitAt: number | null): Promise<void> {
    if (t.vanishedTimer !== null) {
      clearTimeout(t.vanishedTimer);
      t.vanishedTimer = null;
    }
    if (t.instance.finalized) return;
    const id = t.instance.identity.containerId;
    let at = exitAt;
    let restarted = false;
    if (at === null) {
      try {
        const container = await this.ports.source.inspect(id);
        if (container !== null && container.running) {
          const same = identityOf(container, t.instance.identity.tenantId);
          if (same.instanceId === t.instance.identity.instanceId) return; // still running
          restarted = true;
        }
        const finished = container?.finishedAt ? Date.parse(container.finishedAt) : NaN;
        at =
          finished >= Date.parse(t.instance.identity.startedAt)
            ? this.ports.clock.fromWall(finished)
            : this.ports.clock.now();
      } catch {
        at = this.ports.clock.now();
      }
    }
    const sample = t.instance.finalize(this.settings.host, at);
    const residual = t.parent?.residual ?? null;
    const last = t.instance.lastReading;
    if (sample !== null && last !== null) {
      this.recordPublished(t, last.at, last.cpuUsageNs);
      this.emit(sample, false);
      residual?.childPublished(t.instance.key, last.at, last.cpuUsageNs);
    }
    if (residual !== null && t.parent !== null) {
      this.record({ kind: 'ended', parent: t.parent.path, child: t.instance.key });
      residual.childEnded(t.instance.key);
    }
    if (at - t.instance.startedAtMs < this.settings.intervalMs) {
      this.ports.metrics.shortLived(sample === null ? 'missed' : 'caught');
    }
    if (this.tracked.get(id) === t) this.tracked.delete(id);
    if (restarted) this.spawn(this.discover(id, false));
  }

  /** Inspects a followed container again; a new instance ends the old one (discoverNow). */
  private async rediscover(t: Tracked): Promise<void> {
    await this.discover(t.instance.identity.containerId, false);
  }

  private attachParent(t: Tracked): void {
    const target = t.target;
    if (!this.settings.meterResidual || target.kind !== 'cgroup') return;
    if (target.parentPath === null || target.parentPath === '/' || target.parentLocation === null) {
      return;
    }
    let parent = this.parents.get(target.parentPath);
    if (parent === undefined) {
      parent = {
        path: target.parentPath,
        location: target.parentLocation,
        tenantId: this.settings.residualTenantOf(target.parentPath),
        residual: null,
        identity: null,
        registering: null,
        previous: null,
        waiting: [],
        publishedCount: 0,
        lastPublishedNs: -1n,
        lastPublishedAt: 0,
      };
      this.parents.set(parent.path, parent);
    }
    t.parent = parent;
    // Started after the baseline: its whole counter is on top of U0. (Adopted before its
    // first reading, so the residual of this cycle waits for its first sample.)
    if (parent.residual !== null) {
      this.record({ kind: 'adopt', parent: parent.path, child: t.instance.key, base: '0' });
      parent.residual.adopt(t.instance.key, 0n);
    }
  }

  /** The parent's baseline: read after the children's first readings (B_c ≤ their value). */
  private ensureBaseline(parent: ParentState): Promise<void> {
    if (parent.residual !== null) return Promise.resolve();
    if (parent.registering !== null) return parent.registering;
    const registering = (async () => {
      const at = this.ports.clock.now();
      let ns: bigint;
      try {
        ns = await this.ports.reader.readParentCpuNs(parent.location);
      } catch (error) {
        this.parentReadFailed(parent, error);
        return;
      }
      const doneAt = this.ports.clock.now();
      const residual = new ParentResidual(parent.path, ns, at);
      for (const t of this.tracked.values()) {
        if (t.parent !== parent || t.instance.finalized) continue;
        residual.adopt(t.instance.key, t.instance.readingBefore(at)?.cpuUsageNs ?? 0n);
        const published = t.instance.lastPublished;
        if (published !== null) {
          residual.childPublished(t.instance.key, published.at, published.cpuUsageNs);
        }
      }
      parent.residual = residual;
      parent.previous = { ns, doneAt, listings: this.listingsStarted };
      if (parent.tenantId !== null) {
        parent.identity = residualIdentityOf(this.settings.host, parent.path, parent.tenantId, at);
      }
      // Before any record refers to it (records of parents not in the snapshot are dropped).
      this.saveResiduals();
      this.ports.log.info(
        { parent: parent.path, tenantId: parent.tenantId },
        'metering the residual of a parent cgroup',
      );
    })().finally(() => {
      parent.registering = null;
    });
    parent.registering = registering;
    return registering;
  }

  /**
   * Evaluates the residual on the latest reading of an earlier cycle that no discovery in flight
   * can still add a child to (see ParentResidual for why that never counts twice), then keeps
   * this cycle's reading for the next ones.
   */
  private settleParent(parent: ParentState, current: ParentReading): void {
    if (parent.previous !== null && current.ns < parent.previous.ns) {
      this.restartResidual(parent);
      return;
    }
    const residual = parent.residual;
    if (parent.previous !== null) parent.waiting.push(parent.previous);
    parent.previous = current;
    // Bounded: a later reading covers what an older one would have (R is cumulative).
    if (parent.waiting.length > MAX_WAITING_READINGS) parent.waiting.shift();
    if (residual === null) return;
    // A child whose start was handled before `since` may have started up to the slack earlier.
    let firstInFlight = Infinity;
    for (const d of this.discovering.values()) firstInFlight = Math.min(firstInFlight, d.since);
    const before = residual.published;
    let evaluated = -1;
    let value: bigint | null = null;
    for (let i = parent.waiting.length - 1; i >= 0 && value === null; i--) {
      const reading = parent.waiting[i]!;
      // Not yet covered by a listing: a child running unknown at it would be counted twice.
      if (reading.listings >= this.listedThrough) continue;
      if (reading.doneAt + DISCOVERY_SLACK_MS > firstInFlight) continue;
      // Null while a live child has no sample read after that reading: try an older one.
      value = residual.residualAt(reading.ns, reading.doneAt);
      evaluated = i;
    }
    if (value === null) return;
    // Evaluations go forward in time: this reading and the older ones are done with.
    parent.waiting.splice(0, evaluated + 1);
    if (value > before) {
      const seconds = Number(value - before) / 1e9;
      this.ports.metrics.residualCpu(parent.path, parent.identity !== null, seconds);
    }
    if (parent.identity === null) return;
    const now = this.ports.clock.now();
    // A sample per cycle while the parent has children or the value moves; `start` first.
    // Never two in one millisecond (same sample id).
    if (value === parent.lastPublishedNs && residual.childCount === 0) return;
    if (Math.floor(now) <= Math.floor(parent.lastPublishedAt)) return;
    const lifecycle = parent.publishedCount === 0 ? 'start' : 'running';
    parent.publishedCount += 1;
    parent.lastPublishedNs = value;
    parent.lastPublishedAt = now;
    this.record({
      kind: 'residual',
      parent: parent.path,
      value: String(value),
      at: now,
      count: parent.publishedCount,
    });
    this.emit(
      residualSample(
        this.settings.host,
        parent.identity,
        value,
        lifecycle,
        now,
        parent.publishedCount - 1,
      ),
      true,
    );
  }

  /**
   * Continues the residuals an earlier run on this boot saved (ResidualStore): the snapshot, then
   * the records written after it. Returns the parents restored.
   */
  private restoreResiduals(): ParentState[] {
    if (!this.settings.meterResidual) return [];
    let saved: ReturnType<ResidualStore['load']>;
    try {
      saved = this.store.load();
    } catch (error) {
      this.ports.log.warn({ err: error }, 'the saved residuals could not be read; starting afresh');
      return [];
    }
    if (saved === null) return [];
    const restored: ParentState[] = [];
    for (const p of saved.parents) {
      const parent: ParentState = {
        path: p.path,
        location: p.location,
        tenantId: p.tenantId,
        residual: ParentResidual.restore(p.path, p.residual),
        identity: p.identity,
        registering: null,
        // Read by the earlier run: covered by this run's first listing.
        previous:
          p.previous === null
            ? null
            : { ns: BigInt(p.previous.ns), doneAt: p.previous.doneAt, listings: 0 },
        waiting: [],
        publishedCount: p.publishedCount,
        lastPublishedNs: BigInt(p.lastPublishedNs),
        lastPublishedAt: p.lastPublishedAt,
      };
      this.parents.set(p.path, parent);
      restored.push(parent);
    }
    for (const r of saved.records) {
      const parent = this.parents.get(r.parent);
      const residual = parent?.residual ?? null;
      if (parent === undefined || residual === null) continue;
      switch (r.kind) {
        case 'adopt':
          residual.adopt(r.child, BigInt(r.base));
          break;
        case 'published':
          residual.childPublished(r.child, r.at, BigInt(r.cpuNs));
          break;
        case 'ended':
          residual.childEnded(r.child);
          break;
        case 'residual':
          residual.restorePublished(BigInt(r.value));
          parent.publishedCount = r.count;
          parent.lastPublishedNs = BigInt(r.value);
          parent.lastPublishedAt = r.at;
          break;
      }
    }
    if (restored.length > 0) {
      this.ports.log.info(
        { parents: restored.length, records: saved.records.length },
        'continuing the residuals of an earlier run',
      );
    }
    return restored;
  }

  /**
   * A restored parent whose counter is now below the reading saved with it was removed and
   * created again while the collector was down (its counter started again at zero): its saved
   * residual no longer describes it, so it starts afresh (a new baseline, a new instance). One
   * that is gone is forgotten. Returns the parents kept.
   */
  private async dropRecreatedParents(restored: ParentState[]): Promise<ParentState[]> {
    const kept: ParentState[] = [];
    for (const parent of restored) {
      const saved = parent.previous?.ns ?? parent.residual?.baselineNs ?? 0n;
      let ns: bigint;
      try {
        ns = await this.ports.reader.readParentCpuNs(parent.location);
      } catch (error) {
        if (!(error instanceof UsageVanishedError)) {
          // Unreadable for now: kept; the cycles report and retry like any parent read.
          kept.push(parent);
          continue;
        }
        ns = -1n;
      }
      if (ns >= saved) {
        kept.push(parent);
        continue;
      }
      this.parents.delete(parent.path);
      this.ports.log.info(
        { parent: parent.path, gone: ns < 0n },
        'a parent cgroup was removed while the collector was down; its residual starts afresh',
      );
    }
    return kept;
  }

  /** Children of restored residuals that exited while the collector was down have ended. */
  private endGoneChildren(restored: readonly ParentState[]): void {
    if (restored.length === 0) return;
    const running = new Set([...this.tracked.values()].map((t) => t.instance.key));
    for (const parent of restored) {
      for (const key of parent.residual?.childKeys() ?? []) {
        if (running.has(key)) continue;
        this.record({ kind: 'ended', parent: parent.path, child: key });
        parent.residual?.childEnded(key);
      }
    }
  }

  /** A child sample is about to be published: recorded first (see ResidualRecord). */
  private recordPublished(t: Tracked, at: number, cpuNs: bigint): void {
    if (t.parent === null || t.parent.residual === null) return;
    this.record({
      kind: 'published',
      parent: t.parent.path,
      child: t.instance.key,
      at,
      cpuNs: String(cpuNs),
    });
  }

  private record(record: ResidualRecord): void {
    try {
      this.store.append(record);
    } catch (error) {
      this.ports.metrics.readError('residual_state_failed');
      this.ports.log.error({ err: error }, 'recording a residual change failed');
    }
  }

  /** Snapshot of every residual (the records so far are in it). */
  private saveResiduals(): void {
    if (!this.settings.meterResidual) return;
    const parents: PersistedParent[] = [];
    for (const p of this.parents.values()) {
      if (p.residual === null) continue;
      parents.push({
        path: p.path,
        location: p.location,
        tenantId: p.tenantId,
        identity: p.identity,
        previous:
          p.previous === null ? null : { ns: String(p.previous.ns), doneAt: p.previous.doneAt },
        publishedCount: p.publishedCount,
        lastPublishedNs: String(p.lastPublishedNs),
        lastPublishedAt: p.lastPublishedAt,
        residual: p.residual.snapshot(),
      });
    }
    try {
      this.store.save(parents);
    } catch (error) {
      this.ports.metrics.readError('residual_state_failed');
      this.ports.log.error({ err: error }, 'saving the residuals failed');
    }
  }

  /**
   * The parent's counter went back: the cgroup was removed and created again between two
   * readings (systemd removes an empty slice; an operator may clean up cgroupfs), so it counts
   * from zero. Its residual starts afresh: a new baseline, read after the children's readings,
   * and a new instance (the old counter's last value stays billed).
   */
  private restartResidual(parent: ParentState): void {
    this.ports.log.info(
      { parent: parent.path },
      'a parent cgroup was created again (its counter went back); its residual starts afresh',
    );
    parent.residual = null;
    parent.identity = null;
    parent.previous = null;
    parent.waiting = [];
    parent.publishedCount = 0;
    parent.lastPublishedNs = -1n;
    parent.lastPublishedAt = 0;
    this.spawn(this.ensureBaseline(parent));
  }

  private parentReadFailed(parent: ParentState, error: unknown): void {
    if (error instanceof UsageVanishedError) {
      // Only an empty cgroup can be removed: its children are gone, so is its residual.
      this.parents.delete(parent.path);
      this.ports.log.info({ parent: parent.path }, 'a parent cgroup was removed');
      return;
    }
    this.ports.metrics.readError('parent_read_failed');
    this.ports.log.warn({ err: error, parent: parent.path }, 'reading a parent cgroup failed');
  }

  /** Hands a sample over; the publisher validates it against the contract (and encodes it). */
  private emit(built: SampleEvent, residual: boolean): void {
    const hostCores = this.settings.hostCores;
    const withCores =
      hostCores === undefined ? built : { ...built, cpu: { ...built.cpu, hostCores } };
    // Container samples declare the cycle they come every (completeness, ADR 0013); a residual
    // is evaluated when its children allow, not on a cadence: it declares none (judged by time).
    const sample =
      residual || withCores.intervalMs !== undefined
        ? withCores
        : { ...withCores, intervalMs: this.settings.intervalMs };
    try {
      this.ports.publisher.publish(sample);
    } catch (error) {
      const violation = error instanceof ContractViolationError;
      this.ports.metrics.readError(violation ? 'contract_violation' : 'publish_failed');
      this.ports.log.error(
        { err: error, resourceId: sample.resource.id },
        violation ? 'a sample broke the contract and was not published' : 'publishing failed',
      );
      return;
    }
    this.ports.metrics.samplePublished(sample.lifecycle, residual);
    if (!residual) this.followed.published(sample);
  }

  private withTracked(id: string, action: (t: Tracked) => void | Promise<void>): void {
    const t = this.tracked.get(id);
    if (t === undefined) return;
    const result = action(t);
    if (result instanceof Promise) this.spawn(result);
  }

  /** Runs `task` after everything queued for this instance. */
  private enqueue(t: Tracked, task: () => Promise<void>): Promise<void> {
    t.busy += 1;
    const next = t.chain.then(task).finally(() => {
      t.busy -= 1;
    });
    // The chain itself never rejects, so one failure does not block the instance forever.
    t.chain = next.catch(() => undefined);
    return next;
  }

  /** Keeps a fire-and-forget task observable (idle/stop) and its failure logged. */
  private spawn(task: Promise<void>): void {
    const tracked = task
      .catch((error: unknown) => {
        this.ports.log.error({ err: error }, 'collector task failed');
      })
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}
