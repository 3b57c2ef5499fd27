import { createHash } from 'node:crypto';
import { type DlqEvent, decodeDlq } from '@metering/contracts';
import { type DlqFilter } from './dlq-options';

/** A record read from the DLQ topic, as kafkajs hands it over. */
export interface RawDlqRecord {
  readonly partition: number;
  readonly offset: string;
  readonly value: Buffer | null;
}

/** A DLQ record that decodes as the contract's DLQ event, with what the commands need of it. */
export interface DlqRecord {
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly event: DlqEvent;
  readonly failedAtMs: number;
  /** The original value's `resource.tenantId` / `resource.id`, when it is a JSON sample-like object. */
  readonly tenant: string | null;
  readonly resourceId: string | null;
  /** The original bytes, exactly (null: the original had none). */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export type DecodedDlqRecord =
  | { readonly ok: true; readonly record: DlqRecord }
  | {
      readonly ok: false;
      readonly partition: number;
      readonly offset: string;
      readonly why: string;
    };

/**
 * The decoder's reason codes (libs/contracts DecodeErrorCode): the bytes themselves are not a
 * valid sample, so the same bytes would be dead-lettered again; replay cannot fix them.
 */
const UNFIXABLE_REASONS: ReadonlySet<string> = new Set([
  'INVALID_JSON',
  'UNKNOWN_SCHEMA_VERSION',
  'SCHEMA_VIOLATION',
]);

export function decodeDlqRecord(raw: RawDlqRecord): DecodedDlqRecord {
  const decoded = decodeDlq(raw.value);
  if (!decoded.ok) {
    return {
      ok: false,
      partition: raw.partition,
      offset: raw.offset,
      why: `${decoded.reason.code}: ${decoded.reason.message}`,
    };
  }
  const event = decoded.value;
  const value = fromBase64(event.original.value);
  const resource = truncated(event) || value === null ? null : resourceOf(value);
  return {
    ok: true,
    record: {
      dlqPartition: raw.partition,
      dlqOffset: raw.offset,
      event,
      failedAtMs: Date.parse(event.failedAt),
      tenant: resource?.tenantId ?? null,
      resourceId: resource?.id ?? null,
      key: fromBase64(event.original.key),
      value,
    },
  };
}

export function matchesFilter(record: DlqRecord, filter: DlqFilter): boolean {
  if (filter.reasons.size > 0 && !filter.reasons.has(record.event.reason.code)) return false;
  if (filter.fromMs !== null && record.failedAtMs < filter.fromMs) return false;
  if (filter.toMs !== null && record.failedAtMs >= filter.toMs) return false;
  if (filter.tenant !== null && record.tenant !== filter.tenant) return false;
  return true;
}

export interface ReplayContext {
  /** The only topic replay publishes to: the samples topic rating consumes. */
  readonly samplesTopic: string;
  readonly keyFromResource: boolean;
}

/** Whether a record can be replayed, and the key it would be published with. */
export type Replayability =
  | { readonly replayable: true; readonly key: Buffer | null }
  | { readonly replayable: false; readonly why: string };

/**
 * A record is replayable when its original bytes are all there (not truncated, their length and
 * SHA-256 as recorded; fields absent in records written before the DLQ was bounded), it came from the samples topic (replay never writes anywhere else,
 * whatever a DLQ record names), and republishing can succeed where the first delivery did not:
 * not a decoder rejection of the bytes themselves, and not a key mismatch unless the key is
 * taken from `resource.id`.
 */
export function replayabilityOf(record: DlqRecord, context: ReplayContext): Replayability {
  const { original, reason } = record.event;
  const valueProblem = wholeBytesProblem('value', record.value, original);
  if (valueProblem !== null) return { replayable: false, why: valueProblem };
  if (record.value === null) return { replayable: false, why: 'the original had no value' };
  if (original.topic !== context.samplesTopic) {
    return { replayable: false, why: 'not from the samples topic' };
  }
  if (UNFIXABLE_REASONS.has(reason.code)) {
    return { replayable: false, why: `${reason.code}: the bytes themselves are invalid` };
  }
  if (context.keyFromResource) {
    if (record.resourceId === null) {
      return { replayable: false, why: 'no resource.id in the value for --key-from-resource' };
    }
    return { replayable: true, key: Buffer.from(record.resourceId, 'utf8') };
  }
  if (reason.code === 'KEY_MISMATCH') {
    return { replayable: false, why: 'KEY_MISMATCH: replay with --key-from-resource' };
  }
  const keyProblem = wholeBytesProblem('key', record.key, original);
  if (keyProblem !== null) return { replayable: false, why: keyProblem };
  return { replayable: true, key: record.key };
}

/** Why kept bytes are not the whole original (truncated, length or SHA-256 off), or null. */
function wholeBytesProblem(
  field: 'key' | 'value',
  kept: Buffer | null,
  original: DlqEvent['original'],
): string | null {
  if (original[`${field}Truncated`] === true) {
    return `only a prefix of the ${field} was kept (${field}Truncated)`;
  }
  const length = kept?.length ?? 0;
  const bytes = original[`${field}Bytes`];
  if (typeof bytes === 'number' && bytes !== length) {
    return `the ${field} has ${length} bytes, not ${bytes}`;
  }
  const sha = original[`${field}Sha256`];
  if (typeof sha === 'string' && sha.toLowerCase() !== sha256(kept ?? Buffer.alloc(0))) {
    return `the ${field} does not match its ${field}Sha256`;
  }
  return null;
}

/** `<topic>/<partition>/<offset>`: the replayed record's header names the DLQ record. */
export function coordinateOf(dlqTopic: string, record: DlqRecord): string {
  return `${dlqTopic}/${record.dlqPartition}/${record.dlqOffset}`;
}

/** Absent in records written before the DLQ was bounded: those are whole. */
function truncated(event: DlqEvent): boolean {
  return event.original['valueTruncated'] === true;
}

function fromBase64(text: string | null): Buffer | null {
  return text === null ? null : Buffer.from(text, 'base64');
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `resource.tenantId` and `resource.id` of a JSON object, when they are strings; never throws. */
function resourceOf(value: Buffer): { tenantId: string | null; id: string | null } | null {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(value));
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || !('resource' in json)) return null;
  const resource = json.resource;
  if (typeof resource !== 'object' || resource === null) return null;
  const tenantId = 'tenantId' in resource ? resource.tenantId : undefined;
  const id = 'id' in resource ? resource.id : undefined;
  return {
    tenantId: typeof tenantId === 'string' ? tenantId : null,
    id: typeof id === 'string' && id.length > 0 ? id : null,
  };
}
