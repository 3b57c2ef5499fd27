import { type HealthRegistry, type Logger, type MetricsRegistry } from '@metering/observability';
import { KafkaClientFactory } from '@metering/kafka';
import { type DockerCollectorConfig } from '../config';
import { KafkaSamplePublisher } from './kafka-sample.publisher';
import { type SamplePublisher } from './sample.publisher';

/** Injection token of the SamplePublisher. */
export const SAMPLE_PUBLISHER = Symbol('SAMPLE_PUBLISHER');

export interface PublisherDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly health?: HealthRegistry;
}

/**
 * The publisher the service runs with. Creating the samples topic is best effort and in the
 * background: the collector must start, and sample, while Kafka is down.
 */
export async function startSamplePublisher(
  config: DockerCollectorConfig,
  deps: PublisherDeps,
): Promise<SamplePublisher> {
  const kafka = new KafkaClientFactory(config.kafka, {
    logger: deps.logger,
    metrics: deps.metrics,
  });
  ensureTopicInBackground(kafka, config, deps.logger);
  const producer = kafka.createProducer();
  await producer.connect();
  return new KafkaSamplePublisher(producer, config.topic, deps.logger);
}

function ensureTopicInBackground(
  kafka: KafkaClientFactory,
  config: DockerCollectorConfig,
  logger: Logger,
): void {
  void kafka
    .ensureTopics([{ topic: config.topic, numPartitions: config.topicPartitions }])
    .catch((error: unknown) => {
      logger.warn({ err: error, topic: config.topic }, 'could not ensure the samples topic');
    });
}
