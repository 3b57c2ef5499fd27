import { type ConsumedMessage } from './kafka-consumer';

/**
 * A rejected message on a dead-letter topic (metering.samples.dlq.v1).
 *
 * Local mirror of the DLQ event that @metering/contracts is defining; when it lands, make
 * this a re-export of that type and pass its encoder to DeadLetterPublisher. Field names
 * follow the agreed shape; the original bytes are base64 so any payload survives JSON.
 */
export interface DeadLetterEvent {
  /** Stable, machine-readable reason, e.g. SCHEMA_INVALID, DECODING_FAILED. */
  reasonCode: string;
  /** Human-readable explanation. */
  message: string;
  /** Where in the payload the problem is, when known. */
  path?: string;
  originalTopic: string;
  partition: number;
  /** int64 as a decimal string. */
  offset: string;
  /** Original key bytes, base64; null when the message had no key. */
  key: string | null;
  /** Original value bytes, base64; empty for a null value (tombstone). */
  value: string;
}

export interface RejectionReason {
  reasonCode: string;
  message: string;
  path?: string;
}

export function toDeadLetterEvent(
  message: ConsumedMessage,
  reason: RejectionReason,
): DeadLetterEvent {
  return {
    reasonCode: reason.reasonCode,
    message: reason.message,
    ...(reason.path === undefined ? {} : { path: reason.path }),
    originalTopic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('base64'),
    value: (message.value ?? Buffer.alloc(0)).toString('base64'),
  };
}
