import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { KafkaClientFactory, type KafkaProducer } from '@metering/kafka';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { type BillingConfig } from '../config';
import { PeriodicTask } from '../common/periodic-task';
import { execute, rows } from '../common/sql-rows';
import { BILLING_CONFIG } from '../common/tokens';
import { OutboxLagMonitor } from './outbox-lag.monitor';

/** An outbox row to publish, checked at the boundary (common/sql-rows.ts). */
const PendingRow = z.object({
  /** bigint, selected as text */
  id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  key: z.string(),
  payload: z.string(),
});

/**
 * Publishes the event outbox to Kafka (`billing.invoices.v1`), at least once: a batch of pending
 * rows is locked (FOR UPDATE SKIP LOCKED, so other billing-api instances take other rows and
 * nothing is sent twice in the normal case), sent, and marked sent in the same transaction only
 * after the brokers acknowledged it. A crash or a timeout between the acknowledgement and the
 * commit sends the batch again: consumers dedupe by the stable event id.
 *
 * Without KAFKA_BROKERS it does not run; events wait in the outbox (the lag gauges show them).
 */
@Injectable()
export class EventRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly published;
  private readonly failures;
  private producer: KafkaProducer | null = null;
  private readonly task: PeriodicTask;

  constructor(
    private readonly dataSource: DataSource,
    private readonly lag: OutboxLagMonitor,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) private readonly root: Logger,
    private readonly metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(EventRelayService.name, { parent: root });
    this.published = metrics.counter({
      name: 'events_published_total',
      help: 'Outbox events acknowledged by Kafka (a batch sent again counts again)',
    });
    this.failures = metrics.counter({
      name: 'event_publish_failures_total',
      help: 'Outbox batches Kafka did not acknowledge in time (they stay pending)',
    });
    this.task = new PeriodicTask(
      () => this.tick(),
      config.automation.events.relayIntervalMs,
      (error) => this.logger.error({ err: error }, 'outbox relay run failed'),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.automation.background) return;
    if (this.config.automation.events.kafka === null) {
      this.logger.warn(
        'KAFKA_BROKERS is not set: invoice events stay in the outbox (billing_api_event_outbox_pending)',
      );
    }
    // Kafka is connected by the first run, not here: billing-api starts (and serves) while
    // Kafka is away, and the relay connects once it is back.
    this.task.start();
  }

  /** The producer, connected on first use; null while Kafka is not configured or unreachable. */
  private async connected(): Promise<KafkaProducer | null> {
    const events = this.config.automation.events;
    if (this.producer !== null || events.kafka === null) return this.producer;
    const factory = new KafkaClientFactory(events.kafka, {
      logger: this.root,
      metrics: this.metrics,
    });
    try {
      await factory.ensureTopics([{ topic: events.topic, numPartitions: events.topicPartitions }]);
    } catch (error) {
      // A principal with Write but no Create (the topic is made by the operator): publish anyway.
      this.logger.warn({ err: error, topic: events.topic }, 'could not ensure the events topic');
    }
    const producer = factory.createProducer();
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  /** Before the database closes (its provider closes on onApplicationShutdown): a run in flight ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
    await this.producer?.disconnect({ timeoutMs: 5_000 });
  }

  /** Publishes until no pending row is left (or one batch fails). Returns the events sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const n = await this.relayBatch();
      sent += n;
      if (n < this.config.automation.events.relayBatch) return sent;
    }
  }

  private async tick(): Promise<void> {
    try {
      if ((await this.connected()) !== null) await this.drain();
    } catch (error) {
      this.failures.inc();
      this.logger.warn(
        { err: error },
        'outbox relay failed; the rows stay pending for the next run',
      );
    }
    await this.lag.refresh();
  }

  private async relayBatch(): Promise<number> {
    const producer = this.producer;
    if (producer === null) return 0;
    const { topic, relayBatch, publishTimeoutMs } = this.config.automation.events;
    return this.dataSource.transaction('READ COMMITTED', async (tx) => {
      const pending = await rows(
        tx,
        PendingRow,
        `SELECT id::text, event_id, event_type, key, payload FROM event_outbox
         WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [relayBatch],
      );
      if (pending.length === 0) return 0;
      await withTimeout(
        producer.send(
          topic,
          pending.map((r) => ({
            key: r.key,
            value: r.payload,
            headers: { 'event-id': r.event_id, 'event-type': r.event_type },
          })),
        ),
        publishTimeoutMs,
      );
      await execute(
        tx,
        `UPDATE event_outbox SET sent_at = now(), publish_attempts = publish_attempts + 1
         WHERE id = ANY ($1::bigint[])`,
        [pending.map((r) => r.id)],
      );
      this.published.inc(pending.length);
      return pending.length;
    });
  }
}

/** Rejects after `ms`; the transaction then rolls back and the rows stay pending. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
