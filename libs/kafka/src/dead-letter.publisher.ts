import { createLogger, type Logger } from '@metering/observability';
import { toDeadLetterEvent, type DeadLetterEvent, type RejectionReason } from './dead-letter.event';
import { type ConsumedMessage } from './kafka-consumer';
import { type KafkaMetrics } from './kafka.metrics';
import { type KafkaProducer, type OutgoingMessage } from './kafka-producer';

/** Turns an event into the record value; the switch point for the contracts' encoder. */
export type DeadLetterEncoder = (event: DeadLetterEvent) => string | Buffer;

export interface DeadLetterPublisherOptions {
  /** The dead-letter topic, e.g. metering.samples.dlq.v1. */
  topic: string;
  /** Default: JSON of the event. */
  encode?: DeadLetterEncoder;
}

export interface Rejection {
  message: ConsumedMessage;
  reason: RejectionReason;
}

/**
 * Publishes rejected messages to a dead-letter topic with the reason and the original
 * bytes, through an idempotent producer, so a batch can move past a poison message
 * without losing it. The record keeps the original key: rejects of one resource stay in
 * order on one DLQ partition.
 */
export class DeadLetterPublisher {
  private readonly encode: DeadLetterEncoder;
  private readonly logger: Logger;

  constructor(
    private readonly producer: KafkaProducer,
    private readonly options: DeadLetterPublisherOptions,
    private readonly deps: { logger: Logger; metrics: KafkaMetrics },
  ) {
    this.encode = options.encode ?? ((event) => JSON.stringify(event));
    this.logger = createLogger('DeadLetterPublisher', { parent: deps.logger });
  }

  get topic(): string {
    return this.options.topic;
  }

  /** Resolves once the DLQ record is acknowledged; only then may the offset move past it. */
  publish(message: ConsumedMessage, reason: RejectionReason): Promise<void> {
    return this.publishAll([{ message, reason }]);
  }

  async publishAll(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    const records = rejections.map(({ message, reason }): OutgoingMessage => {
      const event = toDeadLetterEvent(message, reason);
      return {
        key: message.key,
        value: this.encode(event),
        // Routing facts in headers too, so tools can filter without decoding the value.
        headers: {
          'dlq.reason-code': reason.reasonCode,
          'dlq.original-topic': message.topic,
        },
      };
    });
    await this.producer.send(this.options.topic, records);
    for (const { message, reason } of rejections) {
      this.deps.metrics.deadLettered(message.topic, reason.reasonCode);
      this.logger.warn(
        {
          reasonCode: reason.reasonCode,
          reason: reason.message,
          path: reason.path,
          originalTopic: message.topic,
          partition: message.partition,
          offset: message.offset,
        },
        'message dead-lettered',
      );
    }
  }
}
