import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Counter,
  type Gauge,
  type Logger,
  type MetricsRegistry,
  createLogger,
} from '@metering/observability';
import {
  type MonthPosition,
  type PricedUsage,
  type PricingCatalog,
  type UsageWindowRules,
  bucketKeyOf,
  instanceKey,
  positionKey,
  priceMonth,
} from '../domain';
import { sortedByBucketKey } from '../ledger/batch-ledger.store';
import { type LedgerTx } from '../ledger/ledger-db';
import { type BucketTotals } from '../ledger/ledger-rows';
import { type BucketAmount, type MonthKey, type PricingStore } from '../ledger/pricing.store';
import { type StagedUsage, type UsageEventSink } from '../publishing/usage-event.outbox';
import { MonthQueue, type PassTrigger, type QueuedMonth } from './month-queue';
import { type TenantAffinity } from './tenant-affinity';

/** The catalog the stage prices with (TenantCatalog). */
export interface StageCatalog {
  refresh(): Promise<void>;
  readonly pricing: PricingCatalog;
}

/** Where a pass's committed charges go (the InfluxDB sink), as the batches' do. */
export interface PricedMonthSink {
  /** After the commit; must not throw nor block. */
  priced(result: { buckets: readonly BucketTotals[]; position: MonthPosition | null }): void;
}

export interface PricingStageOptions {
  readonly windows: UsageWindowRules;
  /** The sweep's period, and how old a piece is before the sweep prices it (default 1,000). */
  readonly intervalMs: number;
  /** An open window not updated for this long is published as it is. */
  readonly idleMs: number;
  /**
   * Pieces priced per pass (one transaction): whole rows (a batch's pieces of the month each)
   * until this many, so a pass may price the last row's beyond it.
   */
  readonly pageSize?: number;
  /**
   * How long the months of committed batches are gathered before their passes run (default: the
   * interval, at most 200 ms): the batches of that time are priced by one pass per month, so
   * positions, open windows and charges are written per pass, not per batch.
   */
  readonly coalesceMs?: number;
  /**
   * How long a month a batch queued while its partition was behind the broker waits for its pass
   * (month-queue.ts; default 0: at once): while rating catches up a backlog, months are priced
   * once a delay instead of each time the queue comes round. A batch that finds its partition
   * caught up makes the month ready at once.
   */
  readonly backlogDelayMs?: number;
  /**
   * The tenants whose months this instance prices: its committed batches' passes and its sweep
   * (the others: their owner's). Absent: every tenant.
   */
  readonly affinity?: TenantAffinity;
  /**
   * How long a month's work is overdue before the sweep prices it here though another instance
   * owns it (its owner is gone, behind, or not yet assigned; default 5 intervals).
   */
  readonly orphanMs?: number;
}

/** The sweep steps in for another instance's months after this many of its intervals. */
const ORPHAN_INTERVALS = 5;

/** What a committed pass hands on: its events to publish, its charges to show. */
interface PassResult {
  readonly staged: StagedUsage;
  readonly buckets: BucketTotals[];
  readonly position: MonthPosition | null;
  readonly more: boolean;
  /** Pieces the pass priced. */
  readonly pieces: number;
}

const DEFAULT_PAGE = 5_000;
/** How old an idle window must be for drain(): never (drain prices pieces only). */
const NEVER_MS = 1e12;

/**
 * The pricing stage (docs/adr/0014-rating-scale-out.md): prices the pieces the rating batches
 * left, one tenant month at a time, by whoever holds the month's lease — the row lock on its
 * `tenant_month_position`, taken with SKIP LOCKED, so no instance ever waits for another: one
 * that finds the month held skips it (its holder prices what is there; the sweep comes back for
 * what it left). A pass, in one transaction: lease, the month's oldest pieces in id order priced
 * from the position (domain/unpriced-piece.ts: priceBatch's arithmetic and windowUsages,
 * unchanged), the buckets' charges (rows of their own: a batch adding quantities to the same
 * buckets never waits for a pass), the moved position, the open windows, the complete windows
 * in the outbox, the idle windows closed, the pieces deleted. A pass that rolls back is redone
 * from the same position over the same pieces: the same amounts and events.
 *
 * Passes run after batch commits for the months they touched (enqueue: gathered for
 * `coalesceMs`, one pass per month for all of them, one pass at a time per process, off the
 * batches' path) and on a sweep every `intervalMs` for months with
 * pieces at least that old or idle windows (with affinity: the months this instance owns, and
 * others' once their work is `orphanMs` overdue); the sweep sets rating_pricing_lag_seconds.
 */
export class PricingStage {
  /** Months waiting for their pass, by positionKey. */
  private readonly queued: MonthQueue;
  /** The month whose pass the queue runs now. */
  private inFlight: QueuedMonth | null = null;
  private running: Promise<void> | null = null;
  private gathering: NodeJS.Timeout | null = null;
  /** Set for when the first deferred month is due. */
  private deferral: NodeJS.Timeout | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private readonly lag: Gauge | null;
  private readonly passes: Counter | null;
  private readonly logger: Logger | null;
  private readonly pageSize: number;
  private readonly coalesceMs: number;
  private readonly orphanMs: number;

  constructor(
    private readonly store: PricingStore,
    private readonly catalog: StageCatalog,
    private readonly usageEvents: UsageEventSink,
    private readonly sink: PricedMonthSink,
    private readonly options: PricingStageOptions,
    metrics: MetricsRegistry | null = null,
    rootLogger: Logger | null = null,
  ) {
    this.queued = new MonthQueue(options.backlogDelayMs ?? 0);
    this.pageSize = options.pageSize ?? DEFAULT_PAGE;
    this.coalesceMs = options.coalesceMs ?? Math.min(options.intervalMs, 200);
    this.orphanMs = options.orphanMs ?? ORPHAN_INTERVALS * options.intervalMs;
    this.lag =
      metrics?.gauge({
        name: 'pricing_lag_seconds',
        help: 'Age of the oldest usage rated and not priced yet (at the last pricing sweep): how far charges and usage events lag quantities',
      }) ?? null;
    this.passes =
      metrics?.counter({
        name: 'pricing_passes_total',
        help: 'Pricing passes (one transaction each) by trigger (batch, sweep, drain) and outcome: priced (found pieces), empty (none left), held (another instance held the month)',
        labelNames: ['trigger', 'outcome'],
      }) ?? null;
    this.logger = rootLogger === null ? null : createLogger('PricingStage', { parent: rootLogger });
  }

  /**
   * Months a committed batch touched: priced within `coalesceMs`, one pass at a time, the months
   * of all batches committed meanwhile together; `behind` (the batch left its partition behind
   * the broker): within `backlogDelayMs` (never throws).
   */
  enqueue(months: readonly MonthKey[], behind = false): void {
    if (this.stopped) return;
    const { affinity } = this.options;
    const now = Date.now();
    for (const m of months) {
      if (affinity === undefined || affinity.owns(m.tenantId))
        this.queued.add(positionKey(m.tenantId, m.period), m, behind, now);
    }
    this.armDeferral();
    if (this.running !== null || this.gathering !== null || this.queued.readyCount === 0) return;
    this.gathering = setTimeout(() => {
      this.gathering = null;
      void this.startDrain();
    }, this.coalesceMs);
  }

  /**
   * Makes the deferred months that are due ready, and sets a timer for the next one unless one is
   * set (when it fires, it does the same and runs the queue).
   */
  private armDeferral(): void {
    if (this.deferral !== null || this.stopped) return;
    const due = this.queued.promote(Date.now());
    if (due === null) return;
    this.deferral = setTimeout(
      () => {
        this.deferral = null;
        this.armDeferral();
        if (this.queued.readyCount > 0) void this.startDrain();
      },
      Math.max(0, due - Date.now()),
    );
  }

  /**
   * Runs the queue now unless it runs already (never rejects: a failed pass is logged and left to
   * the sweep); gathers again what was queued meanwhile.
   */
  private startDrain(): Promise<void> {
    if (this.running !== null) return this.running;
    this.running = this.drainQueue().finally(() => {
      this.running = null;
      if (this.queued.readyCount > 0) this.enqueue([]);
    });
    return this.running;
  }

  private async drainQueue(): Promise<void> {
    for (;;) {
      const next = this.stopped ? undefined : this.queued.take();
      if (next === undefined) return;
      this.inFlight = next;
      try {
        await this.priceMonth(next.month, next.trigger);
      } catch (error) {
        // The pieces stay; the sweep prices them.
        this.logger?.warn({ err: error, ...next.month }, 'pricing pass failed; the sweep retries');
      } finally {
        this.inFlight = null;
        for (const done of next.waiters) done();
      }
    }
  }

  /** Starts the sweep. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.sweeping !== null) return;
      this.sweeping = this.sweep()
        .catch((error: unknown) =>
          this.logger?.warn({ err: error }, 'pricing sweep failed; the next one retries'),
        )
        .finally(() => (this.sweeping = null));
    }, this.options.intervalMs);
  }

  /** Stops the sweep and waits for the passes under way (what is left stays for the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.gathering !== null) clearTimeout(this.gathering);
    this.gathering = null;
    if (this.deferral !== null) clearTimeout(this.deferral);
    this.deferral = null;
    // A sweep waiting for a month that now never runs resolves (what is left stays for the next
    // start).
    for (const q of this.queued.clear()) for (const done of q.waiters) done();
    await this.sweeping;
    await this.running;
  }

  /**
   * One sweep (exposed for specs): the months with pieces older than the interval or idle windows
   * that this instance owns, and another's once their work is `orphanMs` overdue, priced by the
   * queue the committed batches' passes run in (one pass at a time per process); resolves once
   * they are. A month already queued or being priced is not queued again: while a backlog is
   * rated the queue lags by more than the interval, and a sweep pricing those months beside it
   * made passes of fewer pieces each (ADR 14). With every instance sweeping every month, N
   * instances made N sweeps' passes over the same months.
   */
  async sweep(): Promise<void> {
    const months = await this.store.monthsWithWork(this.options.intervalMs, this.options.idleMs);
    const { affinity } = this.options;
    const priced: Promise<void>[] = [];
    for (const m of months) {
      if (this.stopped) break;
      if (
        affinity !== undefined &&
        !affinity.owns(m.tenantId) &&
        m.dueSeconds * 1000 < this.orphanMs
      )
        continue;
      const id = positionKey(m.tenantId, m.period);
      // Behind a backlog, deferred: priced when due, and not waited for (the sweep would then
      // come round only once a delay, for the orphans and idle windows too).
      if (this.queued.isDeferred(id)) continue;
      let entry = this.queued.get(id) ?? (this.inFlight?.id === id ? this.inFlight : undefined);
      if (entry === undefined) {
        entry = {
          id,
          month: { tenantId: m.tenantId, period: m.period },
          trigger: 'sweep',
          waiters: [],
        };
        this.queued.addReady(entry);
      }
      const waiting = entry;
      priced.push(new Promise<void>((resolve) => waiting.waiters.push(resolve)));
    }
    if (priced.length > 0) {
      // No gathering: the sweep's months are overdue already.
      if (this.gathering !== null) clearTimeout(this.gathering);
      this.gathering = null;
      void this.startDrain();
      // The lag as found, then again once priced: behind a backlog's queue the wait can be long,
      // and the gauge must not stand still meanwhile.
      this.lag?.set(await this.store.oldestUnpricedSeconds());
      await Promise.all(priced);
    }
    this.lag?.set(await this.store.oldestUnpricedSeconds());
  }

  /**
   * Prices every unpriced piece there is (specs, and a stop that wants nothing left): waits for
   * months another instance holds. Idle windows stay open.
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const months = await this.store.monthsWithWork(0, NEVER_MS);
      if (months.length === 0) return;
      let held = false;
      for (const m of months) held = (await this.priceMonth(m, 'drain')) === 'held' || held;
      if (Date.now() > deadline) throw new Error('the pricing stage did not drain in time');
      if (held) await sleep(20);
    }
  }

  /**
   * Prices a month until no piece is left or another instance holds it ('held': its holder
   * prices what is there).
   */
  async priceMonth(key: MonthKey, trigger: PassTrigger = 'sweep'): Promise<'done' | 'held'> {
    await this.catalog.refresh();
    // The month's row is nearly always there: it is created (ensureMonth, a statement of its own)
    // only when the lease finds nothing, and the lease tried once more.
    let ensured = false;
    for (;;) {
      const result = await this.store.transaction(async (tx) => {
        const position = await this.store.lease(tx, key, false);
        return position === null ? null : this.pass(tx, key, position, true);
      });
      if (result === null) {
        if (ensured) {
          this.passes?.inc({ trigger, outcome: 'held' });
          return 'held';
        }
        await this.store.ensureMonth(key);
        ensured = true;
        continue;
      }
      this.committed(result);
      this.passes?.inc({ trigger, outcome: result.pieces > 0 ? 'priced' : 'empty' });
      if (!result.more) return 'done';
    }
  }

  /**
   * In the caller's transaction, whose lease it holds (the reprice, which waited for it): prices
   * every piece of the month. Returns what to do once the caller has committed.
   */
  async drainLeased(tx: LedgerTx, key: MonthKey): Promise<() => void> {
    const results: PassResult[] = [];
    for (;;) {
      const position = await this.store.lease(tx, key, true);
      if (position === null) break;
      // The reprice stores the month's position next: its row stays.
      const result = await this.pass(tx, key, position, false);
      results.push(result);
      if (!result.more) break;
    }
    return () => {
      for (const r of results) this.committed(r);
    };
  }

  private async pass(
    tx: LedgerTx,
    key: MonthKey,
    position: MonthPosition,
    dropEmpty: boolean,
  ): Promise<PassResult> {
    const page = await this.store.unpricedPage(tx, key, this.pageSize);
    const instances = new Map<string, { resourceId: string; instanceId: string }>();
    for (const p of page.pieces) instances.set(instanceKey(p), p);
    const stored = new Map<string, PricedUsage>();
    for (const w of page.windows) stored.set(instanceKey(w), w);
    const priced = priceMonth(
      page.pieces,
      key.tenantId,
      key.period,
      position,
      stored,
      this.catalog.pricing,
      this.options.windows,
    );
    // The charges per bucket, in key order (nothing to add: skipped, no charge row written).
    const bucketsOf = new Map<string, BucketAmount>();
    for (const p of page.pieces)
      for (const part of p.parts) {
        const key = bucketKeyOf(p.tenantId, p.resourceId, part.bucketStartMs);
        const amount = priced.bucketAmounts.get(key) ?? 0n;
        if (amount !== 0n && !bucketsOf.has(key))
          bucketsOf.set(key, {
            tenantId: p.tenantId,
            resourceId: p.resourceId,
            bucketStartMs: part.bucketStartMs,
            amount,
          });
      }
    const sorted = sortedByBucketKey(bucketsOf.values());
    // A page holds whole rows: `pageSize` pieces or more means rows may be left.
    const more = page.pieces.length >= this.pageSize;
    // The charges, the moved position (one that did not move, no piece or none with usage, is
    // not written again) and the priced pieces' deletion: one statement.
    const moved =
      priced.position !== null && !samePosition(priced.position, position) ? priced.position : null;
    const buckets = await this.store.settle(tx, key, {
      amounts: sorted,
      moved,
      pieceRows: page.ids,
    });
    // No plan, no position: the row the lease needed goes again (created again when needed).
    if (priced.position === null && dropEmpty && !more && isEmpty(position))
      await this.store.dropMonth(tx, key);
    await this.store.storeWindows(tx, key, priced.open, instances);
    const idle = more ? [] : await this.store.takeIdleWindows(tx, key, this.options.idleMs);
    const staged = await this.usageEvents.stage(tx, [...priced.closed, ...idle]);
    return { staged, buckets, position: priced.position, more, pieces: page.pieces.length };
  }

  private committed(result: PassResult): void {
    this.usageEvents.committed(result.staged);
    if (result.buckets.length > 0 || result.position !== null)
      this.sink.priced({ buckets: result.buckets, position: result.position });
  }
}

function samePosition(a: MonthPosition, b: MonthPosition): boolean {
  return (
    a.cpu === b.cpu &&
    a.memory === b.memory &&
    a.cpuAmount === b.cpuAmount &&
    a.memoryAmount === b.memoryAmount
  );
}

function isEmpty(p: MonthPosition): boolean {
  return p.cpu === 0n && p.memory === 0n && p.cpuAmount === 0n && p.memoryAmount === 0n;
}
