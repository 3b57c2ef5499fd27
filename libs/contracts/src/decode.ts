import { type z } from 'zod';
import { type DlqEvent, DlqEventSchema } from './dlq.event';
import { INVOICE_EVENT_LIMITS, type InvoiceEvent, InvoiceEventSchema } from './invoice.event';
import { formatPath, issueMessage } from './issue-message';
import { type SampleEvent, SampleEventSchema } from './sample.event';
import { SCHEMA_VERSIONS } from './topics';
import { type UsageEvent, UsageEventSchema } from './usage.event';

/**
 * Why a message was rejected. None of these is retriable: the same bytes fail the same way,
 * so consumers dead-letter them instead of retrying.
 * - INVALID_JSON: empty, not UTF-8, or not JSON at all.
 * - UNKNOWN_SCHEMA_VERSION: JSON object whose `schema` field is missing or another version.
 * - SCHEMA_VIOLATION: not an object, or a field breaks the schema.
 */
export type DecodeErrorCode = 'INVALID_JSON' | 'UNKNOWN_SCHEMA_VERSION' | 'SCHEMA_VIOLATION';

export interface DecodeFailure {
  code: DecodeErrorCode;
  /** Names the field, e.g. "memory.usageBytes: must be >= 0"; several issues joined by "; ". */
  message: string;
  /** Path of the first failing field, e.g. "memory.usageBytes"; null for the whole message. */
  path: string | null;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailure };

/** Kafka message value as kafkajs hands it over (Buffer, or null for a tombstone) or text. */
export type MessageBytes = Uint8Array | string | null | undefined;

export function decodeSample(bytes: MessageBytes): DecodeResult<SampleEvent> {
  return decodeEvent(SampleEventSchema, SCHEMA_VERSIONS.sample, bytes);
}

export function decodeUsage(bytes: MessageBytes): DecodeResult<UsageEvent> {
  return decodeEvent(UsageEventSchema, SCHEMA_VERSIONS.usage, bytes);
}

export function decodeDlq(bytes: MessageBytes): DecodeResult<DlqEvent> {
  return decodeEvent(DlqEventSchema, SCHEMA_VERSIONS.dlq, bytes);
}

/** Bounded: a message over INVOICE_EVENT_LIMITS.maxEventBytes is refused before it is parsed. */
export function decodeInvoiceEvent(bytes: MessageBytes): DecodeResult<InvoiceEvent> {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : (bytes?.length ?? 0);
  if (size > INVOICE_EVENT_LIMITS.maxEventBytes) {
    return failure(
      'SCHEMA_VIOLATION',
      null,
      `message is ${size} bytes; at most ${INVOICE_EVENT_LIMITS.maxEventBytes} allowed`,
    );
  }
  return decodeEvent(InvoiceEventSchema, SCHEMA_VERSIONS.invoiceEvent, bytes);
}

export function validateInvoiceEvent(json: unknown): DecodeResult<InvoiceEvent> {
  return validateEvent(InvoiceEventSchema, SCHEMA_VERSIONS.invoiceEvent, json);
}

/** Validates an already parsed JSON value (e.g. an HTTP body) against the sample schema. */
export function validateSample(json: unknown): DecodeResult<SampleEvent> {
  return validateEvent(SampleEventSchema, SCHEMA_VERSIONS.sample, json);
}

export function validateUsage(json: unknown): DecodeResult<UsageEvent> {
  return validateEvent(UsageEventSchema, SCHEMA_VERSIONS.usage, json);
}

export function validateDlq(json: unknown): DecodeResult<DlqEvent> {
  return validateEvent(DlqEventSchema, SCHEMA_VERSIONS.dlq, json);
}

// Strict UTF-8: a lossy decode would turn garbage into plausible strings.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Never throws: every failure becomes a DecodeFailure. */
function decodeEvent<S extends z.ZodType>(
  schema: S,
  version: string,
  bytes: MessageBytes,
): DecodeResult<z.output<S>> {
  if (bytes === null || bytes === undefined || bytes.length === 0) {
    return failure('INVALID_JSON', null, 'message is empty');
  }
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    return failure('INVALID_JSON', null, 'message is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return failure('INVALID_JSON', null, `message is not valid JSON: ${detail}`);
  }
  return validateEvent(schema, version, json);
}

function validateEvent<S extends z.ZodType>(
  schema: S,
  version: string,
  json: unknown,
): DecodeResult<z.output<S>> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const got = json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json;
    return failure('SCHEMA_VIOLATION', null, `message must be a JSON object, got ${got}`);
  }
  // Checked before the schema so a newer version is reported as such, not as a pile of
  // field errors.
  const declared: unknown = (json as Record<string, unknown>)['schema'];
  if (declared !== version) {
    const what =
      declared === undefined ? 'is required' : `unsupported version ${describe(declared)}`;
    return failure('UNKNOWN_SCHEMA_VERSION', 'schema', `${what}; expected "${version}"`);
  }
  let parsed: z.ZodSafeParseResult<z.output<S>>;
  try {
    parsed = schema.safeParse(json, { error: issueMessage });
  } catch (error) {
    // Not expected (safeParse reports, refinements are guarded), but "never throws" is the
    // contract consumers rely on to keep a poison message from stopping a partition.
    const detail = error instanceof Error ? error.message : String(error);
    return failure('SCHEMA_VIOLATION', null, `message could not be validated: ${detail}`);
  }
  if (parsed.success) {
    return { ok: true, value: parsed.data };
  }
  const issues = parsed.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  const first = issues[0];
  return {
    ok: false,
    reason: {
      code: 'SCHEMA_VIOLATION',
      path: first?.path ?? null,
      message: issues
        .map((i) => (i.path === null ? i.message : `${i.path}: ${i.message}`))
        .join('; '),
    },
  };
}

function failure(
  code: DecodeErrorCode,
  path: string | null,
  message: string,
): { ok: false; reason: DecodeFailure } {
  return {
    ok: false,
    reason: { code, path, message: path === null ? message : `${path}: ${message}` },
  };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
