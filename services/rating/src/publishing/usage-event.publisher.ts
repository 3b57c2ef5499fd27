import { encodeUsage } from '@metering/contracts';
import { type Counter, type MetricsRegistry } from '@metering/observability';
import { type PricedUsage } from '../domain';
import { encodeUsageEvent } from './usage-event.encoder';
import { usageEventOf } from './usage-event.factory';

export interface UsageEventSink {
  /** Resolves once every event is acknowledged by the brokers. */
  publish(usages: readonly PricedUsage[]): Promise<void>;
}

/** Where encoded events go: the usage producer thread (or, in tests, anything alike). */
export interface UsageEventTransport {
  /** Resolves once every event is acknowledged by the brokers. */
  send(keys: string[], values: string[]): Promise<void>;
}

/**
 * Publishes priced usage on `billing.usage.v1`, keyed by tenant (per-tenant order). Called inside
 * the batch's transaction, before it commits, like the DLQ: a batch whose transaction then fails
 * is rated and published again, with the same usage ids (see usage-event.factory.ts).
 *
 * Events are valid by construction (typed, from exact figures, written by encodeUsageEvent); the
 * contract's validator checks the first of every call, a guard against drift that costs one
 * validation per batch instead of one per event.
 */
export class UsageEventPublisher implements UsageEventSink {
  private readonly published: Counter;

  constructor(
    private readonly transport: UsageEventTransport,
    metrics: MetricsRegistry,
    private readonly clock: () => number = Date.now,
  ) {
    this.published = metrics.counter({
      name: 'usage_events_published_total',
      help: 'billing.usage.v1 events acknowledged by Kafka (a retried batch publishes again)',
    });
  }

  async publish(usages: readonly PricedUsage[]): Promise<void> {
    if (usages.length === 0) return;
    const ratedAt = new Date(this.clock()).toISOString();
    // The contract's validator on the first event guards the direct encoder against drift.
    encodeUsage(usageEventOf(usages[0]!, ratedAt));
    const ratedAtJson = JSON.stringify(ratedAt);
    const keys = usages.map((u) => u.tenantId);
    const values = usages.map((u) => encodeUsageEvent(u, ratedAtJson));
    await this.transport.send(keys, values);
    this.published.inc(values.length);
  }
}
