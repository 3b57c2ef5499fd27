import { encodeUsage } from '@metering/contracts';
import {
  type Counter,
  type Gauge,
  type Logger,
  type MetricsRegistry,
  createLogger,
} from '@metering/observability';
import { type PricedUsage } from '../domain';
import { type LedgerTx } from '../ledger/ledger-db';
import { type OutboxRow, type OutboxStore } from '../ledger/outbox.store';
import { encodeUsageEvent } from './usage-event.encoder';
import { usageEventOf } from './usage-event.factory';

/** Where encoded events go: the usage producer thread (or, in tests, anything alike). */
export interface UsageEventTransport {
  /** Resolves once every event is acknowledged by the brokers. */
  send(keys: string[], values: string[]): Promise<void>;
}

/** A pricing pass's usage events, in the outbox with the pass's transaction. */
export interface StagedUsage {
  readonly rows: readonly OutboxRow[];
}

export interface UsageEventSink {
  /**
   * Resolves when a batch may begin (backpressure: Kafka slower than rating holds batches here).
   * Called before the batch's transaction, so no batch waits for Kafka holding row locks —
   * above all the month positions every rating instance takes turns at.
   */
  ready(): Promise<void>;
  /** In the batch's transaction: puts the complete windows' events in the outbox. */
  stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage>;
  /** After the commit: publishes what was staged. Never throws, never blocks the caller. */
  committed(staged: StagedUsage): void;
}

export interface UsageOutboxOptions {
  /** How often outbox rows left behind (crash, Kafka outage) are published. */
  readonly sweepMs: number;
  /**
   * Batches whose events may be on their way to Kafka at once; the next batch waits before it
   * begins (batches already under way when the bound is reached still stage theirs).
   */
  readonly maxInFlight: number;
  /**
   * Outbox rows at least this old are published again by the sweep (younger ones are the
   * batches' own, being published right now). Default: 10 s or two sweeps, whichever is longer.
   */
  readonly resendAfterMs?: number;
}

/** Events a sweep reads and publishes at once (whole rows: a page may pass it by a row's). */
const SWEEP_PAGE = 5_000;

/**
 * Publishes `billing.usage.v1` from the ledger's outbox (a transactional outbox): a pricing
 * pass's complete usage windows are written as events (one row per tenant) in the pass's own
 * transaction, published right after it commits and deleted once Kafka acknowledges them. Only
 * committed usage is ever published, so every event is final: a crash between commit and
 * acknowledgement publishes the same bytes (same usage id) again from the outbox, and consumers
 * that upsert by usage id count each window once. Kafka being slow or down never rolls back a
 * pass; the outbox holds the events (usage_outbox_rows) and the sweep publishes them when Kafka is
 * back.
 *
 * Events are valid by construction (typed, from exact figures, written by encodeUsageEvent); the
 * contract's validator checks the first of every call, a guard against drift.
 */
export class UsageEventOutbox implements UsageEventSink {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly published: Counter;
  private readonly failures: Counter;
  private readonly rowsGauge: Gauge;
  private readonly oldestGauge: Gauge;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly ledger: OutboxStore,
    private readonly transport: UsageEventTransport,
    metrics: MetricsRegistry,
    rootLogger: Logger,
    private readonly options: UsageOutboxOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.logger = createLogger('UsageEventOutbox', { parent: rootLogger });
    this.published = metrics.counter({
      name: 'usage_events_published_total',
      help: 'billing.usage.v1 events acknowledged by Kafka (a row published again counts again)',
    });
    this.failures = metrics.counter({
      name: 'usage_publish_failures_total',
      help: 'Publications of usage events Kafka did not acknowledge (the outbox keeps them)',
    });
    this.rowsGauge = metrics.gauge({
      name: 'usage_outbox_rows',
      help: 'Usage events committed and not yet acknowledged by Kafka (at the last sweep)',
    });
    this.oldestGauge = metrics.gauge({
      name: 'usage_outbox_oldest_seconds',
      help: 'Age of the oldest usage event waiting in the outbox (at the last sweep)',
    });
  }

  async ready(): Promise<void> {
    // Backpressure: a Kafka slower than rating holds batches here, not events in memory.
    while (this.inFlight.size >= this.options.maxInFlight) await Promise.race(this.inFlight);
  }

  async stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    return { rows: await this.ledger.addToOutbox(tx, this.encode(closed)) };
  }

  committed(staged: StagedUsage): void {
    if (staged.rows.length === 0) return;
    this.track(this.publish(staged.rows).then(() => undefined));
  }

  /** Starts the sweep: rows a crash or an outage left in the outbox. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.sweeping !== null) return;
      this.sweeping = this.sweep().finally(() => (this.sweeping = null));
    }, this.options.sweepMs);
  }

  /** Stops sweeping and waits for publications under way (what fails stays in the outbox). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
    await Promise.allSettled([...this.inFlight]);
  }

  /** One sweep (exposed for tests): publishes the outbox's leftovers. */
  async sweep(): Promise<void> {
    try {
      const minAgeMs = this.options.resendAfterMs ?? Math.max(10_000, 2 * this.options.sweepMs);
      for (;;) {
        const rows = await this.ledger.outboxBacklog(minAgeMs, SWEEP_PAGE);
        const events = rows.reduce((n, r) => n + r.values.length, 0);
        // Not acknowledged: the rows stay for the next sweep, not read again at once.
        if (events > 0 && !(await this.publish(rows))) break;
        if (events < SWEEP_PAGE) break;
      }
      const depth = await this.ledger.outboxDepth();
      this.rowsGauge.set(depth.events);
      this.oldestGauge.set(depth.oldestSeconds);
    } catch (error) {
      this.logger.warn({ err: error }, 'usage outbox sweep failed; next sweep retries');
    }
  }

  /** Publishes the rows' events and deletes the rows; false when Kafka did not take them. */
  private async publish(rows: readonly OutboxRow[]): Promise<boolean> {
    const keys: string[] = [];
    const values: string[] = [];
    for (const r of rows)
      for (const v of r.values) {
        keys.push(r.key);
        values.push(v);
      }
    try {
      await this.transport.send(keys, values);
      this.published.inc(values.length);
      await this.ledger.deleteFromOutbox(rows.map((r) => r.id));
      return true;
    } catch (error) {
      this.failures.inc();
      this.logger.warn(
        { err: error, events: values.length },
        'usage events not acknowledged; they stay in the outbox for the next sweep',
      );
      return false;
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private encode(usages: readonly PricedUsage[]): { keys: string[]; values: string[] } {
    if (usages.length === 0) return { keys: [], values: [] };
    const ratedAt = new Date(this.clock()).toISOString();
    // The contract's validator on the first event guards the direct encoder against drift.
    encodeUsage(usageEventOf(usages[0]!, ratedAt));
    const ratedAtJson = JSON.stringify(ratedAt);
    return {
      keys: usages.map((u) => u.tenantId),
      values: usages.map((u) => encodeUsageEvent(u, ratedAtJson)),
    };
  }
}
