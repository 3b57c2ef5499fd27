import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  base64,
  kafkaOffset,
  nonEmptyString,
  nonNegativeInt,
  timestamp,
} from './primitives.schema';
import { MAX_HOST_AUTH_HEADER_BYTES } from './host-auth';
import { SCHEMA_VERSIONS } from './topics';

/** Lower-case hex SHA-256, 64 digits. */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a lower-case hex SHA-256' });

/**
 * A rejected message on `metering.samples.dlq.v1`. The original key and value are kept as
 * bytes (base64), not as parsed JSON: the input may not be JSON at all, and replaying it
 * after a fix must reproduce exactly what the producer sent.
 *
 * A DLQ record is bounded in size (it must fit the DLQ topic's `max.message.bytes`): an
 * original too large to fit keeps only a prefix of its value (and, if need be, of its key),
 * with `valueTruncated: true` and the whole original's length and SHA-256, so the record still
 * identifies what was lost. The length and digest fields came after the first records were
 * written (an additive change): they are optional here so those records still decode, and every
 * record written since carries them.
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
  original: z
    .looseObject({
      topic: nonEmptyString,
      partition: nonNegativeInt,
      offset: kafkaOffset,
      /** null for a message without a key; its prefix when `keyTruncated`. */
      key: base64.nullable(),
      /** null for a tombstone; its prefix when `valueTruncated`. */
      value: base64.nullable(),
      /** Length of the whole original key in bytes (0 without a key). */
      keyBytes: nonNegativeInt.optional(),
      /** SHA-256 of the whole original key (of zero bytes without a key). */
      keySha256: sha256Hex.optional(),
      /** true: `key` holds only a prefix of the original key. */
      keyTruncated: z.boolean().optional(),
      /** Length of the whole original value in bytes (0 for a tombstone). */
      valueBytes: nonNegativeInt.optional(),
      /** SHA-256 of the whole original value (of zero bytes for a tombstone). */
      valueSha256: sha256Hex.optional(),
      /** true: `value` holds only a prefix of the original value. */
      valueTruncated: z.boolean().optional(),
      /** The original's `metering-host-auth` header (ADR 0010), for a replay to send again. */
      hostAuth: z
        .string()
        .max(MAX_HOST_AUTH_HEADER_BYTES)
        .regex(/^[\x21-\x7e ]+$/, { error: 'must be printable ASCII' })
        .optional(),
    })
    .superRefine((original, ctx) => {
      checkLength(ctx, 'key', original.key, original.keyBytes, original.keyTruncated);
      checkLength(ctx, 'value', original.value, original.valueBytes, original.valueTruncated);
    }),
  failedAt: timestamp,
  /** The service that rejected the message, e.g. "rating". */
  service: nonEmptyString,
});

export type DlqEvent = z.infer<typeof DlqEventSchema>;

/** Length and SHA-256 (hex) of a whole original key or value. */
export interface DlqBytesDigest {
  bytes: number;
  sha256: string;
}

export interface DlqEventInput {
  reason: { code: string; message: string; path: string | null };
  original: {
    topic: string;
    partition: number;
    offset: string;
    /** The original key, or a prefix of it when `keyDigest` describes a longer whole. */
    key: Uint8Array | null;
    /** The original value, or a prefix of it when `valueDigest` describes a longer whole. */
    value: Uint8Array | null;
    /** The whole key's length and digest; computed from `key` when left out. */
    keyDigest?: DlqBytesDigest;
    /** The whole value's length and digest; computed from `value` when left out. */
    valueDigest?: DlqBytesDigest;
    /** The original's `metering-host-auth` header. */
    hostAuth?: string;
  };
  service: string;
  failedAt: Date;
}

/** Builds the DLQ record for a message that could not be processed. */
export function dlqEventOf(input: DlqEventInput): DlqEvent {
  const { key, value, keyDigest, valueDigest } = input.original;
  const keyWhole = keyDigest ?? digestOf(key);
  const valueWhole = valueDigest ?? digestOf(value);
  return {
    schema: SCHEMA_VERSIONS.dlq,
    reason: { ...input.reason },
    original: {
      topic: input.original.topic,
      partition: input.original.partition,
      offset: input.original.offset,
      key: toBase64(key),
      value: toBase64(value),
      keyBytes: keyWhole.bytes,
      keySha256: keyWhole.sha256,
      keyTruncated: keyWhole.bytes > (key?.length ?? 0),
      valueBytes: valueWhole.bytes,
      valueSha256: valueWhole.sha256,
      valueTruncated: valueWhole.bytes > (value?.length ?? 0),
      ...(input.original.hostAuth === undefined ? {} : { hostAuth: input.original.hostAuth }),
    },
    failedAt: input.failedAt.toISOString(),
    service: input.service,
  };
}

/** Length and SHA-256 of `bytes` (of zero bytes for null). */
export function digestOf(bytes: Uint8Array | null): DlqBytesDigest {
  const data = bytes ?? new Uint8Array(0);
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

function toBase64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('base64');
}

/**
 * The kept bytes agree with the declared whole: all of it, or a strictly shorter prefix when
 * truncated. Checked on the base64 text's length, without decoding it.
 */
function checkLength(
  ctx: z.RefinementCtx,
  field: 'key' | 'value',
  kept: unknown,
  wholeBytes: unknown,
  truncated: unknown,
): void {
  if (typeof wholeBytes !== 'number') {
    if (truncated === true && wholeBytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [`${field}Bytes`],
        message: `is required when ${field}Truncated`,
      });
    }
    return; // a record from before these fields, or one whose field has its own issue
  }
  if (kept !== null && typeof kept !== 'string') return; // the field's own issue says why
  const keptBytes = kept === null ? 0 : base64Length(kept);
  if (truncated === true && (kept === null || keptBytes >= wholeBytes)) {
    ctx.addIssue({
      code: 'custom',
      path: [`${field}Truncated`],
      message: `a truncated ${field} must hold a prefix shorter than ${field}Bytes`,
    });
  } else if (truncated !== true && keptBytes !== wholeBytes) {
    ctx.addIssue({
      code: 'custom',
      path: [`${field}Bytes`],
      message: `must equal the length of ${field} (${keptBytes} bytes) unless ${field}Truncated`,
    });
  }
}

/** Decoded length of a base64 text (whether it is valid base64 is the field's own check). */
function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor(text.length / 4) * 3 - padding;
}
