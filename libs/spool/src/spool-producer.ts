import { type KafkaClientFactory } from '@metering/kafka';
import { SPOOL_DEFAULTS } from './spool.config';

export interface SpoolMessage {
  key: Buffer;
  value: Buffer;
  /** The per-host MAC (ADR 0010), when the collector signs. */
  headers?: Record<string, string>;
}

/**
 * What the forwarder needs from a Kafka producer. @metering/kafka's KafkaProducer fits it
 * as it is; tests pass fakes.
 *
 * send() must resolve only once the brokers acknowledged every message (acks=all), reject
 * otherwise, and be idempotent for an identical retry (see kafkaSpoolProducer).
 */
export interface SpoolProducer {
  connect(): Promise<void>;
  send(topic: string, messages: readonly SpoolMessage[]): Promise<void>;
  disconnect(options?: { timeoutMs?: number }): Promise<void>;
}

/** Called for the first producer and again after a fatal producer error. */
export type SpoolProducerFactory = () => SpoolProducer;

export interface KafkaSpoolProducerOptions {
  /** Must be at least the publisher's maxBatchRecords (default the same default). */
  maxBatchRecords?: number;
  /** kafkajs's own attempts per send before the forwarder's backoff takes over. Default 3. */
  retries?: number;
}

/**
 * Producers for the spool from the service's KafkaClientFactory: idempotent, acks=all,
 * one request in flight (all set by KafkaProducer), no linger (the spool already batched),
 * and a batch size that fits a whole spool batch, so each send is one produce request.
 *
 * kafkajs's retries are bounded here (kafkajs logs a warning about that once per producer),
 * because the forwarder retries forever itself, with a backoff and health reporting. That
 * keeps idempotence: the forwarder retries the identical batch on the same producer, and
 * kafkajs hands out sequence numbers again from where the failed attempt took them, so the
 * broker discards a batch it already wrote. Only a new producer (after a fatal error or a
 * restart) gets a new producer id; the sampleId then lets rating drop the duplicate.
 */
export function kafkaSpoolProducer(
  kafka: KafkaClientFactory,
  options: KafkaSpoolProducerOptions = {},
): SpoolProducerFactory {
  return () =>
    kafka.createProducer({
      maxBatchSize: options.maxBatchRecords ?? SPOOL_DEFAULTS.maxBatchRecords,
      lingerMs: 0,
      retry: {
        retries: options.retries ?? 3,
        initialRetryTime: 200,
        maxRetryTime: 2_000,
      },
    });
}
