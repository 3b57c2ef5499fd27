import { type Counter, type Histogram, type MetricsRegistry } from '@metering/observability';

export type KafkaRole = 'producer' | 'consumer';

/**
 * The Kafka series of a service, prefixed with the service name by MetricsRegistry
 * (`rating_kafka_messages_consumed_total`...). Without a registry every call is a no-op,
 * so the clients never need to check.
 */
export class KafkaMetrics {
  private readonly producedTotal?: Counter<'topic'>;
  private readonly produceErrorsTotal?: Counter<'topic' | 'retriable'>;
  private readonly consumedTotal?: Counter<'topic' | 'group'>;
  private readonly deadLettersTotal?: Counter<'topic' | 'reason_code'>;
  private readonly batchDuration?: Histogram<'role' | 'topic'>;

  constructor(registry?: MetricsRegistry) {
    if (registry === undefined) return;
    this.producedTotal = registry.counter({
      name: 'kafka_messages_produced_total',
      help: 'Messages acknowledged by the brokers (acks=all)',
      labelNames: ['topic'],
    });
    this.produceErrorsTotal = registry.counter({
      name: 'kafka_produce_errors_total',
      help: 'Messages whose produce request failed',
      labelNames: ['topic', 'retriable'],
    });
    this.consumedTotal = registry.counter({
      name: 'kafka_messages_consumed_total',
      help: 'Messages processed by a batch handler',
      labelNames: ['topic', 'group'],
    });
    this.deadLettersTotal = registry.counter({
      name: 'kafka_dead_letters_total',
      help: 'Messages published to a dead-letter topic, by original topic and reason',
      labelNames: ['topic', 'reason_code'],
    });
    this.batchDuration = registry.histogram({
      name: 'kafka_batch_duration_seconds',
      help: 'Time to send a produce batch or to handle a consumed batch',
      labelNames: ['role', 'topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  produced(topic: string, count: number): void {
    this.producedTotal?.inc({ topic }, count);
  }

  produceFailed(topic: string, retriable: boolean, count: number): void {
    this.produceErrorsTotal?.inc({ topic, retriable: String(retriable) }, count);
  }

  consumed(topic: string, group: string, count: number): void {
    this.consumedTotal?.inc({ topic, group }, count);
  }

  deadLettered(topic: string, reasonCode: string): void {
    this.deadLettersTotal?.inc({ topic, reason_code: reasonCode });
  }

  batch(role: KafkaRole, topic: string, seconds: number): void {
    this.batchDuration?.observe({ role, topic }, seconds);
  }
}
