import { dlqEventOf, encodeDlq } from '@metering/contracts';
import { type DeadLetterEncoder } from '@metering/kafka';

/**
 * Encodes libs/kafka's dead-letter record as the `metering.samples.dlq.v1` contract. The key and
 * value may be prefixes (the publisher bounds every record): the whole original's length and
 * SHA-256 go along, so the contract marks them truncated.
 */
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
          keyDigest: { bytes: event.keyBytes, sha256: event.keySha256 },
          valueDigest: { bytes: event.valueBytes, sha256: event.valueSha256 },
          ...(event.hostAuth === undefined ? {} : { hostAuth: event.hostAuth }),
        },
        service,
        failedAt: clock(),
      }),
    );
}
