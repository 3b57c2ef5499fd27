import { type Kafka } from 'kafkajs';
import { type Logger, type MetricsRegistry } from '@metering/observability';
import { DeadLetterPublisher, type DeadLetterPublisherOptions } from './dead-letter.publisher';
import { KafkaAdmin, type EnsureTopicsResult, type TopicSpec } from './kafka-admin';
import { resolveKafkaConfig, type KafkaConfig, type KafkaConfigInput } from './kafka.config';
import { KafkaConsumer, type KafkaConsumerOptions } from './kafka-consumer';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducer, type KafkaProducerOptions } from './kafka-producer';
import { kafkajsClient } from './kafkajs-client';

export interface KafkaClientFactoryDeps {
  /** The service's root logger (no `context`); kafkajs's lines go through it too. */
  logger: Logger;
  /** Where the Kafka metrics are registered; without it they are not recorded. */
  metrics?: MetricsRegistry;
}

/**
 * One kafkajs client per service, configured once (brokers, timeouts, retries, logging),
 * from which producers, consumers, admin and the dead-letter publisher are made.
 */
export class KafkaClientFactory {
  readonly config: KafkaConfig;
  /** The underlying client, for what this library does not wrap. */
  readonly kafka: Kafka;
  readonly metrics: KafkaMetrics;
  private readonly logger: Logger;

  constructor(config: KafkaConfig | KafkaConfigInput, deps: KafkaClientFactoryDeps) {
    this.config = resolveKafkaConfig(config);
    this.logger = deps.logger;
    this.metrics = new KafkaMetrics(deps.metrics);
    this.kafka = kafkajsClient(this.config, deps.logger);
  }

  /** Not connected yet: call connect(). */
  createProducer(options: KafkaProducerOptions = {}): KafkaProducer {
    return new KafkaProducer(this.kafka, options, this.deps());
  }

  /** Not started yet: call start(handler). */
  createConsumer(options: KafkaConsumerOptions): KafkaConsumer {
    return new KafkaConsumer(this.kafka, options, this.deps());
  }

  /** Not connected yet: call connect(). */
  createAdmin(): KafkaAdmin {
    return new KafkaAdmin(this.kafka.admin(), { logger: this.logger });
  }

  /** Publishes through `producer`, which the caller connects and disconnects. */
  createDeadLetterPublisher(
    producer: KafkaProducer,
    options: DeadLetterPublisherOptions,
  ): DeadLetterPublisher {
    return new DeadLetterPublisher(producer, options, this.deps());
  }

  /** Connects an admin client, ensures the topics exist and disconnects it. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const admin = this.createAdmin();
    await admin.connect();
    try {
      return await admin.ensureTopics(specs);
    } finally {
      await admin.disconnect();
    }
  }

  private deps(): { logger: Logger; metrics: KafkaMetrics } {
    return { logger: this.logger, metrics: this.metrics };
  }
}
