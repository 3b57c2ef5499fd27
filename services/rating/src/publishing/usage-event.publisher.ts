import { encodeUsage } from '@metering/contracts';
import { type KafkaProducer, type OutgoingMessage } from '@metering/kafka';
import { type Counter, type MetricsRegistry } from '@metering/observability';
import { type PricedUsage } from '../domain';
import { encodeUsageEvent } from './usage-event.encoder';
import { usageEventOf } from './usage-event.factory';

export interface UsageEventSink {
  /** Resolves once every event is acknowledged by the brokers. */
  publish(usages: readonly PricedUsage[]): Promise<void>;
}

export interface UsageEventPublisherOptions {
  readonly topic: string;
  /** Events per send (one produce request): keeps each partition's record batch small. */
  readonly eventsPerRequest: number;
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
    private readonly producer: KafkaProducer,
    private readonly options: UsageEventPublisherOptions,
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
    const messages = usages.map((u): OutgoingMessage => ({
      key: u.tenantId,
      value: encodeUsageEvent(u, ratedAtJson),
    }));
    const acks: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i += this.options.eventsPerRequest) {
      acks.push(
        this.producer.send(
          this.options.topic,
          messages.slice(i, i + this.options.eventsPerRequest),
        ),
      );
    }
    // Send the last, partial request now rather than after the producer's linger time.
    await Promise.all([...acks, this.producer.flush()]);
    this.published.inc(messages.length);
  }
}
