import { z } from 'zod';
import {
  base64,
  kafkaOffset,
  nonEmptyString,
  nonNegativeInt,
  timestamp,
} from './primitives.schema';
import { SCHEMA_VERSIONS } from './topics';

/**
 * A rejected message on `metering.samples.dlq.v1`. The original key and value are kept as
 * bytes (base64), not as parsed JSON: the input may not be JSON at all, and replaying it
 * after a fix must reproduce exactly what the producer sent.
 */
export const DlqEventSchema = z.looseObject({
  schema: z.literal(SCHEMA_VERSIONS.dlq),
  reason: z.looseObject({
    /** Stable code, e.g. a DecodeErrorCode (INVALID_JSON, SCHEMA_VIOLATION, ...). */
    code: nonEmptyString,
    /** For humans; names the failing field, e.g. "memory.usageBytes: must be >= 0". */
    message: z.string(),
    /** The failing field's path, when one field is to blame. */
    path: z.string().nullable(),
  }),
  original: z.looseObject({
    topic: nonEmptyString,
    partition: nonNegativeInt,
    offset: kafkaOffset,
    /** null for a message without a key / a tombstone. */
    key: base64.nullable(),
    value: base64.nullable(),
  }),
  failedAt: timestamp,
  /** The service that rejected the message, e.g. "rating". */
  service: nonEmptyString,
});

export type DlqEvent = z.infer<typeof DlqEventSchema>;

export interface DlqEventInput {
  reason: { code: string; message: string; path: string | null };
  original: {
    topic: string;
    partition: number;
    offset: string;
    key: Uint8Array | null;
    value: Uint8Array | null;
  };
  service: string;
  failedAt: Date;
}

/** Builds the DLQ record for a message that could not be processed. */
export function dlqEventOf(input: DlqEventInput): DlqEvent {
  return {
    schema: SCHEMA_VERSIONS.dlq,
    reason: { ...input.reason },
    original: {
      topic: input.original.topic,
      partition: input.original.partition,
      offset: input.original.offset,
      key: toBase64(input.original.key),
      value: toBase64(input.original.value),
    },
    failedAt: input.failedAt.toISOString(),
    service: input.service,
  };
}

function toBase64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('base64');
}
