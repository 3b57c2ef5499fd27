import './kafkajs-encoder.patch';
import './kafkajs-crc32c.patch';
import './kafkajs-record-decoder.patch';
import './kafkajs-record-batch.patch';
import './kafkajs-batch.patch';
export {
  KAFKA_DEFAULTS,
  kafkaConfigFromEnv,
  resolveKafkaConfig,
  type KafkaConfig,
  type KafkaConfigInput,
  type KafkaRetrySettings,
} from './kafka.config';
export { KafkaClientFactory, type KafkaClientFactoryDeps } from './kafka-client.factory';
export { kafkajsSecurity } from './kafkajs-client';
export {
  kafkaSecurityFromEnv,
  secret,
  MAX_SETTING_FILE_BYTES,
  SASL_MECHANISMS,
  type KafkaSaslConfig,
  type KafkaSaslMechanism,
  type KafkaSecurityConfig,
  type KafkaTlsConfig,
  type SettingFileReader,
  readSettingText,
} from './kafka-security.config';
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
export { messageBytes, messageParts } from './consumed-batch';
export { type RecordParts } from './kafkajs-record-decoder.patch';
export { RecordReleasedError, releaseRecordBytes } from './record-bytes';
export { readMessagesAt, type MessageAt } from './kafka-message.reader';
export {
  DEAD_LETTER_BOUNDS,
  DeadLetterPublisher,
  deadLetterLimits,
  type DeadLetterLimits,
  type DeadLetterProducer,
  type DeadLetterPublisherOptions,
} from './dead-letter.publisher';
export {
  DEAD_LETTER_LIMITS,
  DeadLetterDraft,
  cutUtf8,
  toDeadLetterEvent,
  type DeadLetterEvent,
  type KeptBytes,
  type Rejection,
  type RejectionReason,
} from './dead-letter.event';
export {
  boundedDeadLetter,
  chunksByBytes,
  recordBytes,
  type BoundedDeadLetter,
  type DeadLetterEncoder,
} from './dead-letter.record';
export { isRebalancing, isRetriable, isTransientSocketError } from './kafka-error.classifier';
export {
  ConsumerStateError,
  DeadLetterTooLargeError,
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
export {
  type HostKeyFileSetting,
  type HostSigner,
  fileHostSigner,
  hostKeyFileFromEnv,
  hostKeysFromEnv,
} from './host-auth.config';
export { patchKafkajsRequestQueue } from './kafkajs-request-queue.patch';
export { patchKafkajsConnection } from './kafkajs-connection.patch';
export { Murmur2Partitioner, murmur2 } from './murmur2.partitioner';
