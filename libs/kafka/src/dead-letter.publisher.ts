import { createLogger, type Logger } from '@metering/observability';
import { type Rejection, type RejectionReason } from './dead-letter.event';
import {
  boundedDeadLetter,
  chunksByBytes,
  type BoundedDeadLetter,
  type DeadLetterEncoder,
} from './dead-letter.record';
import { type ConsumedMessage } from './consumed-batch';
import { KafkaConfigError } from './kafka.errors';
import { type KafkaMetrics } from './kafka.metrics';
import { type KafkaProducer } from './kafka-producer';

export interface DeadLetterPublisherOptions {
  /** The dead-letter topic, e.g. metering.samples.dlq.v1. */
  topic: string;
  /** Default: JSON of the event. */
  encode?: DeadLetterEncoder;
  /**
   * Bytes of records per produce request (keys, values, headers and each record's overhead):
   * a burst of rejections goes out in consecutive requests of at most this. Default 900,000,
   * under the broker's default `message.max.bytes` (1,048,588) for a record batch.
   */
  maxRequestBytes?: number;
  /**
   * Bytes of one record: a larger original keeps only a prefix of its value (and, if need be,
   * of its key). Default: maxRequestBytes; at least DEAD_LETTER_BOUNDS.minRecordBytes.
   */
  maxRecordBytes?: number;
  /**
   * The DLQ topic's `max.message.bytes` when the caller has read it (KafkaAdmin
   * .maxMessageBytes): both bounds are lowered to fit it.
   */
  topicMaxMessageBytes?: number;
}

export const DEAD_LETTER_BOUNDS = {
  maxRequestBytes: 900_000,
  /** Room for the reason (2 KiB of text, up to 6× as JSON escapes) and the routing fields. */
  minRecordBytes: 32_768,
  /** Kept free of a topic's max.message.bytes: the record batch's own header (61 bytes) and more. */
  topicMarginBytes: 1_024,
} as const;

/** The bounds a publisher applies, after defaults and the topic's limit. */
export interface DeadLetterLimits {
  maxRequestBytes: number;
  maxRecordBytes: number;
}

/** What a sender of records needs: KafkaProducer, or a stand-in in unit specs. */
export type DeadLetterProducer = Pick<KafkaProducer, 'send'>;

/**
 * Publishes rejected messages to a dead-letter topic with the reason and the original
 * bytes, through an idempotent producer, so a batch can move past a poison message
 * without losing it. The record keeps the original key: rejects of one resource stay in
 * order on one DLQ partition.
 *
 * Bounded in bytes, so no input can make the DLQ refuse a send (MESSAGE_TOO_LARGE is not
 * retriable: the consumer would stop on every retry of the batch): every record fits
 * maxRecordBytes (see boundedDeadLetter), and the records of a publishAll go out in chunks of
 * at most maxRequestBytes, in order, each acknowledged before the next is sent. One publishAll
 * runs at a time, so two partitions' rejections never share a produce request (the producer
 * batches what is queued together); this holds while the publisher is the only one sending to
 * its topic through its producer.
 */
export class DeadLetterPublisher {
  readonly limits: DeadLetterLimits;
  private readonly encode: DeadLetterEncoder;
  private readonly logger: Logger;
  /** The last publishAll's turn: the next one starts when it settles. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly producer: DeadLetterProducer,
    private readonly options: DeadLetterPublisherOptions,
    private readonly deps: { logger: Logger; metrics: KafkaMetrics },
  ) {
    this.encode = options.encode ?? ((event) => JSON.stringify(event));
    this.limits = deadLetterLimits(options);
    this.logger = createLogger('DeadLetterPublisher', { parent: deps.logger });
  }

  get topic(): string {
    return this.options.topic;
  }

  /** Resolves once the DLQ record is acknowledged; only then may the offset move past it. */
  publish(message: ConsumedMessage, reason: RejectionReason): Promise<void> {
    return this.publishAll([{ message, reason }]);
  }

  /**
   * Resolves once every record is acknowledged. On a failure the chunks before it stay
   * published and the rest are not sent: the caller retries the batch, so a rejection may be
   * dead-lettered twice, never lost.
   */
  publishAll(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return Promise.resolve();
    const mine = this.turn.then(() => this.sendInChunks(rejections));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async sendInChunks(rejections: readonly Rejection[]): Promise<void> {
    const letters = rejections.map((rejection) =>
      boundedDeadLetter(rejection, this.encode, this.limits.maxRecordBytes),
    );
    for (const chunk of chunksByBytes(letters, (l) => l.bytes, this.limits.maxRequestBytes)) {
      await this.producer.send(
        this.options.topic,
        chunk.map((l) => l.record),
      );
      this.acknowledged(chunk);
    }
  }

  private acknowledged(chunk: readonly BoundedDeadLetter[]): void {
    for (const { event } of chunk) {
      this.deps.metrics.deadLettered(event.originalTopic, event.reasonCode);
      this.logger.warn(
        {
          reasonCode: event.reasonCode,
          reason: event.message,
          path: event.path,
          originalTopic: event.originalTopic,
          partition: event.partition,
          offset: event.offset,
          ...(event.valueTruncated || event.keyTruncated
            ? {
                valueBytes: event.valueBytes,
                valueTruncated: event.valueTruncated,
                keyBytes: event.keyBytes,
                keyTruncated: event.keyTruncated,
              }
            : {}),
        },
        'message dead-lettered',
      );
    }
  }
}

/** The bounds of DeadLetterPublisherOptions, checked; lowered to fit the topic's limit. */
export function deadLetterLimits(
  options: Pick<
    DeadLetterPublisherOptions,
    'maxRequestBytes' | 'maxRecordBytes' | 'topicMaxMessageBytes'
  >,
): DeadLetterLimits {
  const { minRecordBytes, topicMarginBytes } = DEAD_LETTER_BOUNDS;
  const requested = options.maxRequestBytes ?? DEAD_LETTER_BOUNDS.maxRequestBytes;
  checkBound('maxRequestBytes', requested);
  checkBound('maxRecordBytes', options.maxRecordBytes ?? requested);
  if (options.maxRecordBytes !== undefined && options.maxRecordBytes > requested) {
    throw new KafkaConfigError(
      'maxRecordBytes',
      `must not exceed maxRequestBytes (${requested}), got ${options.maxRecordBytes}`,
    );
  }
  let maxRequestBytes = requested;
  if (options.topicMaxMessageBytes !== undefined) {
    const limit = options.topicMaxMessageBytes;
    if (!Number.isSafeInteger(limit) || limit - topicMarginBytes < minRecordBytes) {
      throw new KafkaConfigError(
        'max.message.bytes of the dead-letter topic',
        `must be a whole number ≥ ${minRecordBytes + topicMarginBytes}, got ${limit}`,
      );
    }
    maxRequestBytes = Math.min(maxRequestBytes, limit - topicMarginBytes);
  }
  return {
    maxRequestBytes,
    maxRecordBytes: Math.min(options.maxRecordBytes ?? maxRequestBytes, maxRequestBytes),
  };
}

function checkBound(setting: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < DEAD_LETTER_BOUNDS.minRecordBytes) {
    throw new KafkaConfigError(
      setting,
      `must be a whole number ≥ ${DEAD_LETTER_BOUNDS.minRecordBytes}, got ${value}`,
    );
  }
}
