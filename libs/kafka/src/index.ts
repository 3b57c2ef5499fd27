export {
  KAFKA_DEFAULTS,
  kafkaConfigFromEnv,
  resolveKafkaConfig,
  type KafkaConfig,
  type KafkaConfigInput,
  type KafkaRetrySettings,
} from './kafka.config';
export { KafkaClientFactory, type KafkaClientFactoryDeps } from './kafka-client.factory';
export {
  KafkaProducer,
  type KafkaProducerOptions,
  type OutgoingMessage,
  type ProducerDisconnectOptions,
} from './kafka-producer';
export {
  KafkaConsumer,
  type AssignmentHook,
  type BatchContext,
  type BatchHandler,
  type BatchResult,
  type ConsumedBatch,
  type ConsumedMessage,
  type ConsumerState,
  type KafkaConsumerOptions,
  type PartitionAssignment,
  type PartitionOffset,
} from './kafka-consumer';
export {
  KafkaAdmin,
  type EnsureTopicsResult,
  type PartitionWatermarks,
  type TopicSpec,
} from './kafka-admin';
export { readMessagesAt, type MessageAt } from './kafka-message.reader';
export {
  DeadLetterPublisher,
  type DeadLetterEncoder,
  type DeadLetterPublisherOptions,
  type Rejection,
} from './dead-letter.publisher';
export { toDeadLetterEvent, type DeadLetterEvent, type RejectionReason } from './dead-letter.event';
export { isRebalancing, isRetriable } from './kafka-error.classifier';
export {
  ConsumerStateError,
  KafkaConfigError,
  KafkaLibError,
  MessageDecodingError,
  ProducerClosedError,
  ProducerNotConnectedError,
  type KafkaLibErrorCode,
} from './kafka.errors';
export { KafkaMetrics, type KafkaRole } from './kafka.metrics';
export { compareOffsets, isOffset, nextOffset } from './kafka-offsets';
export { kafkajsLogCreator, kafkajsLogLevel } from './kafkajs-log.adapter';
export { CompressionTypes, type IHeaders } from 'kafkajs';
