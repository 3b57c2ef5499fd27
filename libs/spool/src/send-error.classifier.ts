import { isRetriable } from '@metering/kafka';

/**
 * isRetriable, looking through kafkajs's wrapping: when kafkajs's connection retries run out
 * inside a send, the send's own retrier wraps that in a KafkaJSNonRetriableError whose cause
 * is the KafkaJSConnectionError. A broker that is down is transient; replacing the producer
 * for it would only cost idempotence.
 */
export function isTransient(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (isRetriable(current)) return true;
    if (current.name !== 'KafkaJSNonRetriableError') return false;
    current = current.cause;
  }
  return false;
}
