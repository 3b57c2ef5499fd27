export type KafkaLibErrorCode =
  | 'KAFKA_CONFIG_INVALID'
  | 'KAFKA_PRODUCER_CLOSED'
  | 'KAFKA_PRODUCER_NOT_CONNECTED'
  | 'KAFKA_CONSUMER_STATE'
  | 'KAFKA_MESSAGE_DECODING'
  | 'KAFKA_DEAD_LETTER_TOO_LARGE';

/**
 * Errors raised by this library. `retriable` follows kafkajs's convention, so isRetriable
 * and kafkajs's own retrier read it the same way.
 */
export class KafkaLibError extends Error {
  override readonly name: string = 'KafkaLibError';

  constructor(
    readonly code: KafkaLibErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuration is wrong; the message names the setting. Raised at boot, never retried. */
export class KafkaConfigError extends KafkaLibError {
  override readonly name = 'KafkaConfigError';

  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super('KAFKA_CONFIG_INVALID', `${setting}: ${problem}`, false);
  }
}

/** send() after disconnect() began, or a send still queued when disconnect gave up. */
export class ProducerClosedError extends KafkaLibError {
  override readonly name = 'ProducerClosedError';

  constructor(message = 'the producer is closed') {
    super('KAFKA_PRODUCER_CLOSED', message, false);
  }
}

export class ProducerNotConnectedError extends KafkaLibError {
  override readonly name = 'ProducerNotConnectedError';

  constructor() {
    super('KAFKA_PRODUCER_NOT_CONNECTED', 'connect() the producer before sending', false);
  }
}

export class ConsumerStateError extends KafkaLibError {
  override readonly name = 'ConsumerStateError';

  constructor(message: string) {
    super('KAFKA_CONSUMER_STATE', message, false);
  }
}

/**
 * A message that cannot be decoded or fails its schema. Retrying cannot fix the bytes, so
 * it is fatal for that message: dead-letter it and move on.
 */
export class MessageDecodingError extends KafkaLibError {
  override readonly name = 'MessageDecodingError';

  constructor(
    message: string,
    /** Where in the payload the problem is (a JSON pointer or dotted path), when known. */
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super('KAFKA_MESSAGE_DECODING', message, false, options);
  }
}

/**
 * A dead letter that does not fit its record bound even without any of the original key and
 * value: the reason and routing fields alone are too large (a bound set below the library's
 * minimum, or a custom encoder that adds a lot). A programming or configuration error.
 */
export class DeadLetterTooLargeError extends KafkaLibError {
  override readonly name = 'DeadLetterTooLargeError';

  constructor(
    readonly recordBytes: number,
    readonly maxRecordBytes: number,
  ) {
    super(
      'KAFKA_DEAD_LETTER_TOO_LARGE',
      `a dead letter takes ${recordBytes} bytes without the original key and value; the bound is ${maxRecordBytes}`,
      false,
    );
  }
}
