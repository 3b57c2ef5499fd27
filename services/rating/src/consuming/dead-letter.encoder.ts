import { dlqEventOf, encodeDlq } from '@metering/contracts';
import { type DeadLetterEncoder } from '@metering/kafka';

/** Encodes libs/kafka's dead-letter record as the `metering.samples.dlq.v1` contract. */
export function contractDeadLetterEncoder(service: string, clock: () => Date): DeadLetterEncoder {
  return (event) =>
    encodeDlq(
      dlqEventOf({
        reason: { code: event.reasonCode, message: event.message, path: event.path ?? null },
        original: {
          topic: event.originalTopic,
          partition: event.partition,
          offset: event.offset,
          key: event.key === null ? null : Buffer.from(event.key, 'base64'),
          value: Buffer.from(event.value, 'base64'),
        },
        service,
        failedAt: clock(),
      }),
    );
}
