import { KafkaClientFactory } from '@metering/kafka';
import { type Logger, type MetricsRegistry } from '@metering/observability';
import { hostSigner, kafkaSpoolProducer, SpooledPublisher } from '@metering/spool';
import { type DockerCollectorConfig } from '../config';
import { type SamplePublisher } from './sample.publisher';
import { SpooledSamplePublisher } from './spooled-sample.publisher';

/** Injection token of the SamplePublisher. */
export const SAMPLE_PUBLISHER = Symbol('SAMPLE_PUBLISHER');

export interface PublisherDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * Opens the spool (resuming what a previous run left there) and starts forwarding to Kafka.
 * Succeeds while Kafka is down: sampling must not wait for it.
 */
export async function startSamplePublisher(
  config: DockerCollectorConfig,
  deps: PublisherDeps,
): Promise<SamplePublisher> {
  const kafka = new KafkaClientFactory(config.kafka, deps);
  const spool = await SpooledPublisher.start({
    dir: config.spool.dir,
    producer: kafkaSpoolProducer(kafka, { maxBatchRecords: config.spool.settings.maxBatchRecords }),
    topic: config.topic,
    settings: config.spool.settings,
    logger: deps.logger,
    metrics: deps.metrics,
    ...(config.hostKey === null ? {} : { sign: hostSigner(config.hostKey, deps.logger) }),
  });
  return new SpooledSamplePublisher(
    spool,
    () => kafka.ensureTopics([{ topic: config.topic, numPartitions: config.topicPartitions }]),
    deps.logger,
  );
}
