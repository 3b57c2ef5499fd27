// `@metering/kafka/producer`: producers on a kafkajs client of their own, without the package's
// index (the consumer, admin and dead-letter publisher, with the contracts' zod schemas, Nest and
// prom-client they bring): what a thread that only produces loads (rating's usage producer; its
// isolate 26 MB smaller). The same encoder and CRC-32C patches as the index.
import './kafkajs-encoder.patch';
import './kafkajs-crc32c.patch';
import { type Logger } from '@metering/observability/logging';
import { resolveKafkaConfig, type KafkaConfig, type KafkaConfigInput } from './kafka.config';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducer, type KafkaProducerOptions } from './kafka-producer';
import { kafkajsClient } from './kafkajs-client';

export { CompressionTypes } from 'kafkajs';
export { KafkaProducer, type KafkaProducerOptions, type OutgoingMessage } from './kafka-producer';

/**
 * Makes producers (not connected yet: call connect()) on one kafkajs client of `config`, its lines
 * logged through `logger` as KafkaClientFactory's are; no Kafka metrics are recorded.
 */
export function producerMaker(
  config: KafkaConfig | KafkaConfigInput,
  logger: Logger,
): (options?: KafkaProducerOptions) => KafkaProducer {
  const kafka = kafkajsClient(resolveKafkaConfig(config), logger);
  const metrics = new KafkaMetrics();
  return (options = {}) => new KafkaProducer(kafka, options, { logger, metrics });
}
