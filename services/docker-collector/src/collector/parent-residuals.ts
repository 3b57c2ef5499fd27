import { type CgroupLocation } from '../cgroups';
import { UsageVanishedError } from '../reading/usage.errors';
import { type ContainerInstance } from '../sampling/container-instance';
import { ParentResidual } from '../sampling/parent-residual';
import { residualIdentityOf, residualSample } from '../sampling/sample.factory';
import { type PersistedParent, type ResidualRecord, type ResidualStore } from './collector.ports';
import {
  MeteredParent,
  NO_COUNTER,
  type ParentReading,
  type ResidualChild,
  type ResidualContext,
} from './metered-parent';

/** A start event handled later than this after the parent reading may still be in flight. */
const DISCOVERY_SLACK_MS = 1_000;
/** Parent readings kept for evaluation while discoveries are in flight (a minute at 5 s). */
const MAX_WAITING_READINGS = 12;

/**
 * The residuals of the parent cgroups of followed containers (ParentResidual), kept across
 * restarts of the collector (ResidualStore): each parent's baseline, its reading every cycle,
 * the evaluation of a reading once listings have covered it, the residual samples, and the
 * records and snapshots a restarted collector continues from.
 */
export class ParentResiduals {
  private readonly parents = new Map<string, MeteredParent>();

  constructor(private readonly ctx: ResidualContext) {}

  /** All parents, metered or waiting for their baseline. */
  all(): IterableIterator<MeteredParent> {
    return this.parents.values();
  }

  /** The parent a new child belongs to (created on first sight), or null when not metered. */
  attach(
    parentPath: string | null,
    location: CgroupLocation | null,
    child: ContainerInstance,
  ): MeteredParent | null {
    if (!this.ctx.meterResidual) return null;
    if (parentPath === null || parentPath === '/' || location === null) return null;
    let parent = this.parents.get(parentPath);
    if (parent === undefined) {
      parent = new MeteredParent(parentPath, location, this.ctx.residualTenantOf(parentPath));
      this.parents.set(parent.path, parent);
    }
    // Started after the baseline: its whole counter is on top of U0. (Adopted before its
    // first reading, so the residual of this cycle waits for its first sample.)
    if (parent.residual !== null) {
      this.record({ kind: 'adopt', parent: parent.path, child: child.key, base: '0' });
      parent.residual.adopt(child.key, 0n);
    }
    return parent;
  }

  /** The parent's baseline: read after the children's first readings (B_c ≤ their value). */
  ensureBaseline(parent: MeteredParent): Promise<void> {
    if (parent.residual !== null) return Promise.resolve();
    if (parent.registering !== null) return parent.registering;
    const registering = (async () => {
      const at = this.ctx.clock.now();
      let ns: bigint;
      try {
        ns = await this.ctx.reader.readParentCpuNs(parent.location);
      } catch (error) {
        this.readFailed(parent, error);
        return;
      }
      const doneAt = this.ctx.clock.now();
      const residual = new ParentResidual(parent.path, ns, at);
      for (const t of this.ctx.children()) {
        if (t.parent !== parent || t.instance.finalized) continue;
        residual.adopt(t.instance.key, t.instance.readingBefore(at)?.cpuUsageNs ?? 0n);
        const published = t.instance.lastPublished;
        if (published !== null) {
          residual.childPublished(t.instance.key, published.at, published.cpuUsageNs);
        }
      }
      parent.reset({
        ...NO_COUNTER,
        residual,
        previous: { ns, doneAt, listings: this.ctx.listingsStarted() },
        identity:
          parent.tenantId === null
            ? null
            : residualIdentityOf(this.ctx.host, parent.path, parent.tenantId, at),
      });
      // Before any record refers to it (records of parents not in the snapshot are dropped).
      this.save();
      this.ctx.log.info(
        { parent: parent.path, tenantId: parent.tenantId },
        'metering the residual of a parent cgroup',
      );
    })().finally(() => {
      parent.registering = null;
    });
    parent.registering = registering;
    return registering;
  }

  /** Baselines of every parent without one (the first listing's, once its children were read). */
  async ensureBaselines(): Promise<void> {
    await Promise.all([...this.parents.values()].map((p) => this.ensureBaseline(p)));
  }

  /** The cycle's reading of every metered parent (before its children are read). */
  async readAll(): Promise<Map<MeteredParent, ParentReading>> {
    const readings = new Map<MeteredParent, ParentReading>();
    for (const parent of this.parents.values()) {
      if (parent.residual === null) continue;
      try {
        const ns = await this.ctx.reader.readParentCpuNs(parent.location);
        const doneAt = this.ctx.clock.now();
        readings.set(parent, { ns, doneAt, listings: this.ctx.listingsStarted() });
      } catch (error) {
        this.readFailed(parent, error);
      }
    }
    return readings;
  }

  /** After the cycle's children were read: evaluates what can be, then saves a snapshot. */
  settleAll(readings: ReadonlyMap<MeteredParent, ParentReading>): void {
    for (const [parent, reading] of readings) this.settle(parent, reading);
    this.save();
  }

  /**
   * Evaluates the residual on the latest reading of an earlier cycle that no discovery in flight
   * can still add a child to (see ParentResidual for why that never counts twice), then keeps
   * this cycle's reading for the next ones.
   */
  private settle(parent: MeteredParent, current: ParentReading): void {
    if (parent.previous !== null && current.ns < parent.previous.ns) {
      this.restartCounter(parent);
      return;
    }
    const residual = parent.residual;
    if (parent.previous !== null) parent.waiting.push(parent.previous);
    parent.previous = current;
    // Bounded: a later reading covers what an older one would have (R is cumulative).
    if (parent.waiting.length > MAX_WAITING_READINGS) parent.waiting.shift();
    if (residual === null) return;
    // A child whose start was handled before `since` may have started up to the slack earlier.
    const firstInFlight = this.ctx.firstDiscoveryInFlight();
    const listedThrough = this.ctx.listedThrough();
    const before = residual.published;
    let evaluated = -1;
    let value: bigint | null = null;
    for (let i = parent.waiting.length - 1; i >= 0 && value === null; i--) {
      const reading = parent.waiting[i]!;
      // Not yet covered by a listing: a child running unknown at it would be counted twice.
      if (reading.listings >= listedThrough) continue;
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
      this.ctx.metrics.residualCpu(parent.path, parent.identity !== null, seconds);
    }
    if (parent.identity === null) return;
    const now = this.ctx.clock.now();
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
    this.ctx.emit(
      residualSample(
        this.ctx.host,
        parent.identity,
        value,
        lifecycle,
        now,
        parent.publishedCount - 1,
      ),
    );
  }

  /** A child's sample: recorded before it is published (see ResidualRecord), then counted. */
  childPublished(child: ResidualChild, at: number, cpuNs: bigint, publish: () => void): void {
    const parent = child.parent;
    if (parent !== null && parent.residual !== null) {
      this.record({
        kind: 'published',
        parent: parent.path,
        child: child.instance.key,
        at,
        cpuNs: String(cpuNs),
      });
    }
    publish();
    parent?.residual?.childPublished(child.instance.key, at, cpuNs);
  }

  /** A child ended (after its final sample, if any). */
  childEnded(child: ResidualChild): void {
    const parent = child.parent;
    if (parent === null || parent.residual === null) return;
    this.record({ kind: 'ended', parent: parent.path, child: child.instance.key });
    parent.residual.childEnded(child.instance.key);
  }

  /**
   * Continues the residuals an earlier run on this boot saved (ResidualStore): the snapshot, then
   * the records written after it. Parents whose cgroup was removed and created again while the
   * collector was down start afresh. Returns the parents restored.
   */
  async restore(): Promise<MeteredParent[]> {
    return this.dropRecreated(this.load());
  }

  private load(): MeteredParent[] {
    if (!this.ctx.meterResidual) return [];
    let saved: ReturnType<ResidualStore['load']>;
    try {
      saved = this.ctx.store.load();
    } catch (error) {
      this.ctx.log.warn({ err: error }, 'the saved residuals could not be read; starting afresh');
      return [];
    }
    if (saved === null) return [];
    const restored: MeteredParent[] = [];
    for (const p of saved.parents) {
      const parent = new MeteredParent(p.path, p.location, p.tenantId, {
        residual: ParentResidual.restore(p.path, p.residual),
        identity: p.identity,
        // Read by the earlier run: covered by this run's first listing.
        previous:
          p.previous === null
            ? null
            : { ns: BigInt(p.previous.ns), doneAt: p.previous.doneAt, listings: 0 },
        publishedCount: p.publishedCount,
        lastPublishedNs: BigInt(p.lastPublishedNs),
        lastPublishedAt: p.lastPublishedAt,
      });
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
      this.ctx.log.info(
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
  private async dropRecreated(restored: MeteredParent[]): Promise<MeteredParent[]> {
    const kept: MeteredParent[] = [];
    for (const parent of restored) {
      const saved = parent.previous?.ns ?? parent.residual?.baselineNs ?? 0n;
      let ns: bigint;
      try {
        ns = await this.ctx.reader.readParentCpuNs(parent.location);
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
      this.ctx.log.info(
        { parent: parent.path, gone: ns < 0n },
        'a parent cgroup was removed while the collector was down; its residual starts afresh',
      );
    }
    return kept;
  }

  /** Children of restored residuals that exited while the collector was down have ended. */
  endGoneChildren(restored: readonly MeteredParent[]): void {
    if (restored.length === 0) return;
    const running = new Set<string>();
    for (const t of this.ctx.children()) running.add(t.instance.key);
    for (const parent of restored) {
      for (const key of parent.residual?.childKeys() ?? []) {
        if (running.has(key)) continue;
        this.record({ kind: 'ended', parent: parent.path, child: key });
        parent.residual?.childEnded(key);
      }
    }
  }

  private record(record: ResidualRecord): void {
    try {
      this.ctx.store.append(record);
    } catch (error) {
      this.ctx.metrics.readError('residual_state_failed');
      this.ctx.log.error({ err: error }, 'recording a residual change failed');
    }
  }

  /**
   * Snapshot of every residual (the records so far are in it), written in the background: the
   * records appended from now on follow it, and until it is on disk the previous snapshot and
   * all records after it stand for the same state (see FileResidualStore).
   */
  save(): void {
    if (!this.ctx.meterResidual) return;
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
    const failed = (error: unknown): void => {
      this.ctx.metrics.readError('residual_state_failed');
      this.ctx.log.error({ err: error }, 'saving the residuals failed');
    };
    try {
      this.ctx.spawn(this.ctx.store.save(parents).catch(failed));
    } catch (error) {
      failed(error);
    }
  }

  /**
   * The parent's counter went back: the cgroup was removed and created again between two
   * readings (systemd removes an empty slice; an operator may clean up cgroupfs), so it counts
   * from zero. Its residual starts afresh: a new baseline, read after the children's readings,
   * and a new instance (the old counter's last value stays billed).
   */
  private restartCounter(parent: MeteredParent): void {
    this.ctx.log.info(
      { parent: parent.path },
      'a parent cgroup was created again (its counter went back); its residual starts afresh',
    );
    parent.reset();
    this.ctx.spawn(this.ensureBaseline(parent));
  }

  private readFailed(parent: MeteredParent, error: unknown): void {
    if (error instanceof UsageVanishedError) {
      // Only an empty cgroup can be removed: its children are gone, so is its residual.
      this.parents.delete(parent.path);
      this.ctx.log.info({ parent: parent.path }, 'a parent cgroup was removed');
      return;
    }
    this.ctx.metrics.readError('parent_read_failed');
    this.ctx.log.warn({ err: error, parent: parent.path }, 'reading a parent cgroup failed');
  }
}
