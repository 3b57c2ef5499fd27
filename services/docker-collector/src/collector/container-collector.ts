/* eslint-disable max-lines -- Long because: one container instance's whole life (discovery, its
 * chain of reads, the cycle, its ending) shares the tracked map, the discoveries in flight and
 * the listings that the residuals (parent-residuals.ts) and the young reads depend on; the
 * parents' part is in parent-residuals.ts. */
import { ContractViolationError, type SampleEvent } from '@metering/contracts';
import { type CgroupLimits } from '../cgroups';
import { type ContainerEvent } from '../discovery/container-event';
import { type InspectedContainer } from '../discovery/inspected-container';
import { type UsageSnapshot, type UsageTarget } from '../reading/usage-reader';
import { UsageVanishedError } from '../reading/usage.errors';
import { ContainerInstance } from '../sampling/container-instance';
import { identityOf, type Reading } from '../sampling/reading';
import { ConcurrencyLimiter } from '@metering/observability';
import { type CollectorPorts, type CollectorSettings, NO_RESIDUAL_STORE } from './collector.ports';
import { FollowedContainers } from './followed-containers';
import { type MeteredParent } from './metered-parent';
import { ParentResiduals } from './parent-residuals';

/** One container instance being followed. */
interface Tracked {
  readonly instance: ContainerInstance;
  target: UsageTarget;
  readonly configuredLimits: CgroupLimits;
  limits: CgroupLimits | null;
  limitsDue: boolean;
  parent: MeteredParent | null;
  /** Reads and the ending of one instance run one after another, in order. */
  chain: Promise<void>;
  busy: number;
  /** Its cgroup vanished; waiting for Docker's `die` to end it with the exit time. */
  vanishedTimer: NodeJS.Timeout | null;
}

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
  private readonly residuals: ParentResiduals;
  /** The instances followed, kept across restarts (README, "Across restarts"). */
  private readonly followed: FollowedContainers;

  constructor(
    private readonly ports: CollectorPorts,
    private readonly settings: CollectorSettings,
  ) {
    this.discoveryLimiter = new ConcurrencyLimiter(settings.discoveryConcurrency);
    this.residuals = new ParentResiduals({
      reader: ports.reader,
      clock: ports.clock,
      metrics: ports.metrics,
      log: ports.log,
      store: ports.residualStore ?? NO_RESIDUAL_STORE,
      host: settings.host,
      meterResidual: settings.meterResidual,
      residualTenantOf: settings.residualTenantOf,
      children: () => this.tracked.values(),
      listingsStarted: () => this.listingsStarted,
      listedThrough: () => this.listedThrough,
      firstDiscoveryInFlight: () => {
        let first = Infinity;
        for (const d of this.discovering.values()) first = Math.min(first, d.since);
        return first;
      },
      emit: (sample) => this.emit(sample, true),
      spawn: (task) => this.spawn(task),
    });
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
      const restored = await this.residuals.restore();
      await this.resync();
      this.residuals.endGoneChildren(restored);
      // Every child's first reading is in: each gets a base from before the baseline.
      await this.residuals.ensureBaselines();
      this.residuals.save();
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
    const parentReadings = await this.residuals.readAll();
    // A listing after the parent readings, so that the next cycles can evaluate them: children
    // whose `start` event was missed are found now, not at the next resync (a whole
    // RESYNC_INTERVAL_MS, or never, during which the residual would carry their CPU too).
    // In the background: discoveries may be slow, the cycle does not wait for them.
    if (parentReadings.size > 0) this.spawn(this.list(false));

    // An instance with nothing queued is read here and now when its reader reads synchronously
    // (cgroup files): the same reading as through its chain, without a promise per container.
    const queued: Array<Promise<void>> = [];
    for (const t of this.tracked.values()) {
      if (t.vanishedTimer !== null) continue;
      const withLimits = refreshLimits || t.limitsDue;
      if (t.busy > 0 || !this.readNow(t, withLimits)) {
        queued.push(this.enqueue(t, () => this.read(t, true, withLimits)));
      }
    }
    await Promise.all(queued);

    this.residuals.settleAll(parentReadings);
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
    if (target.kind === 'cgroup') {
      t.parent = this.residuals.attach(target.parentPath, target.parentLocation, t.instance);
    }
    this.armYoungReads();
    await this.enqueue(t, async () => {
      await this.read(t, false, true);
      // A new parent's baseline right after its first child's reading: what the child uses
      // in between would be missing from the residual.
      if (t.parent !== null && !this.bootstrapping) await this.residuals.ensureBaseline(t.parent);
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
      this.readFailed(t, error);
      return;
    }
    this.recordReading(t, at, snapshot, publish);
  }

  /**
   * A cycle's reading (published) done synchronously, for an instance with nothing in its chain;
   * false when its reader cannot read it so (the stats API): it is read through the chain then.
   */
  private readNow(t: Tracked, withLimits: boolean): boolean {
    const reader = this.ports.reader;
    if (reader.readSync === undefined || t.target.kind !== 'cgroup') return false;
    if (t.instance.finalized) return true;
    const at = this.ports.clock.now();
    let snapshot;
    try {
      snapshot = reader.readSync(t.target, withLimits || t.limits === null);
    } catch (error) {
      this.readFailed(t, error);
      return true;
    }
    if (snapshot === undefined) return false;
    this.recordReading(t, at, snapshot, true);
    return true;
  }

  private readFailed(t: Tracked, error: unknown): void {
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
  }

  private recordReading(t: Tracked, at: number, snapshot: UsageSnapshot, publish: boolean): void {
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
    const { host, hostCores, intervalMs } = this.settings;
    // Built with the cycle it comes every (emit adds none to it).
    const sample = t.instance.publish(host, hostCores, intervalMs);
    const reading = t.instance.lastPublished;
    if (sample === null || reading === null) return;
    this.residuals.childPublished(t, reading.at, reading.cpuUsageNs, () =>
      this.emit(sample, false),
    );
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
    const { host, hostCores, intervalMs } = this.settings;
    const sample = t.instance.finalize(host, at, hostCores, intervalMs);
    const last = t.instance.lastReading;
    if (sample !== null && last !== null) {
      this.residuals.childPublished(t, last.at, last.cpuUsageNs, () => this.emit(sample, false));
    }
    this.residuals.childEnded(t);
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

  /** Hands a sample over; the publisher validates it against the contract (and encodes it). */
  private emit(built: SampleEvent, residual: boolean): void {
    const hostCores = this.settings.hostCores;
    // Container samples are built with it; a residual sample gets it here.
    const withCores =
      hostCores === undefined || built.cpu.hostCores !== undefined
        ? built
        : { ...built, cpu: { ...built.cpu, hostCores } };
    // Container samples declare the cycle they come every (completeness, ADR 0013); a residual
    // is evaluated when its children allow, not on a cadence: it declares none (judged by time).
    const sample =
      residual || withCores.intervalMs !== undefined
        ? withCores
        : { ...withCores, intervalMs: this.settings.intervalMs };
    let json: Buffer | void;
    try {
      json = this.ports.publisher.publish(sample);
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
    if (!residual) this.followed.published(sample, json ?? undefined);
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
