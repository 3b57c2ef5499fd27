import { createHash } from 'node:crypto';
import { HOST_AUTH_HEADER, MAX_HOST_AUTH_HEADER_BYTES } from '@metering/contracts';
import { type ConsumedMessage } from './consumed-batch';

/**
 * A rejected message on a dead-letter topic (metering.samples.dlq.v1).
 *
 * The library's own shape of a dead letter, written as JSON by default; services pass the
 * contracts' encoder to DeadLetterPublisher instead (rating: dead-letter.encoder.ts). The
 * original bytes are base64 so any payload survives JSON. An original too large for the DLQ's
 * record bound keeps only a prefix: `valueTruncated` (`keyTruncated`) says so, and the whole
 * original's length and SHA-256 are always there.
 */
export interface DeadLetterEvent {
  /** Stable, machine-readable reason, e.g. SCHEMA_INVALID, DECODING_FAILED. */
  reasonCode: string;
  /** Human-readable explanation, at most DEAD_LETTER_LIMITS.messageBytes of UTF-8. */
  message: string;
  /** Where in the payload the problem is, when known; at most DEAD_LETTER_LIMITS.pathBytes. */
  path?: string;
  originalTopic: string;
  partition: number;
  /** int64 as a decimal string. */
  offset: string;
  /** Original key bytes (a prefix when keyTruncated), base64; null when the message had no key. */
  key: string | null;
  /** Length of the whole original key (0 without a key). */
  keyBytes: number;
  /** SHA-256 (hex) of the whole original key (of zero bytes without a key). */
  keySha256: string;
  keyTruncated: boolean;
  /** Original value bytes (a prefix when valueTruncated), base64; empty for a null value. */
  value: string;
  /** Length of the whole original value (0 for a tombstone). */
  valueBytes: number;
  /** SHA-256 (hex) of the whole original value. */
  valueSha256: string;
  valueTruncated: boolean;
  /**
   * The original's `metering-host-auth` header (ADR 0010), so a replay can send it again and the
   * sample still proves its host; absent when it had none, several, or one too long to be real.
   */
  hostAuth?: string;
}

export interface RejectionReason {
  reasonCode: string;
  message: string;
  path?: string;
}

export interface Rejection {
  message: ConsumedMessage;
  reason: RejectionReason;
}

/**
 * Bounds of the reason's text, in UTF-8 bytes: an error message may quote the offending input
 * (a whole 1 MB string), and a dead letter must stay small whatever the input was.
 */
export const DEAD_LETTER_LIMITS = {
  messageBytes: 2048,
  pathBytes: 512,
} as const;

/** How much of the original key and value a dead letter keeps; default: all of it. */
export interface KeptBytes {
  keyBytes?: number;
  valueBytes?: number;
}

/** A message's dead letter, its bytes hashed once, from which events keeping less are cut. */
export class DeadLetterDraft {
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly reason: RejectionReason;
  private readonly keySha256: string;
  private readonly valueSha256: string;

  constructor(
    readonly message: ConsumedMessage,
    reason: RejectionReason,
  ) {
    this.key = message.key;
    this.value = message.value ?? Buffer.alloc(0);
    this.keySha256 = sha256(this.key ?? Buffer.alloc(0));
    this.valueSha256 = sha256(this.value);
    this.reason = {
      reasonCode: reason.reasonCode,
      message: cutUtf8(reason.message, DEAD_LETTER_LIMITS.messageBytes),
      ...(reason.path === undefined
        ? {}
        : { path: cutUtf8(reason.path, DEAD_LETTER_LIMITS.pathBytes) }),
    };
  }

  /** The original key as the dead letter keeps it (the DLQ record's key too). */
  keptKey(keep: KeptBytes = {}): Buffer | null {
    return this.key === null ? null : prefix(this.key, keep.keyBytes);
  }

  event(keep: KeptBytes = {}): DeadLetterEvent {
    const key = this.keptKey(keep);
    const value = prefix(this.value, keep.valueBytes);
    return {
      ...this.reason,
      originalTopic: this.message.topic,
      partition: this.message.partition,
      offset: this.message.offset,
      key: key === null ? null : key.toString('base64'),
      keyBytes: this.key?.length ?? 0,
      keySha256: this.keySha256,
      keyTruncated: key !== null && key.length < (this.key?.length ?? 0),
      value: value.toString('base64'),
      valueBytes: this.value.length,
      valueSha256: this.valueSha256,
      valueTruncated: value.length < this.value.length,
      ...hostAuthOf(this.message),
    };
  }
}

function hostAuthOf(message: ConsumedMessage): { hostAuth?: string } {
  const header: unknown = message.headers[HOST_AUTH_HEADER];
  if (!Buffer.isBuffer(header) && typeof header !== 'string') return {};
  if (Buffer.byteLength(header) > MAX_HOST_AUTH_HEADER_BYTES) return {};
  const text = header.toString();
  return /^[\x21-\x7e ]+$/.test(text) ? { hostAuth: text } : {};
}

/** The dead letter of `message`, keeping all of its key and value unless `keep` says less. */
export function toDeadLetterEvent(
  message: ConsumedMessage,
  reason: RejectionReason,
  keep: KeptBytes = {},
): DeadLetterEvent {
  return new DeadLetterDraft(message, reason).event(keep);
}

/**
 * `text` if its UTF-8 fits in `maxBytes`, else its longest prefix that fits with a trailing
 * "…", never splitting a character.
 */
export function cutUtf8(text: string, maxBytes: number): string {
  // Fast path: every UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes - ELLIPSIS_BYTES);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // a continuation byte: back off
  return `${bytes.subarray(0, end).toString('utf8')}…`;
}

const ELLIPSIS_BYTES = Buffer.byteLength('…');

function prefix(bytes: Buffer, keep: number | undefined): Buffer {
  return keep === undefined || keep >= bytes.length ? bytes : bytes.subarray(0, Math.max(0, keep));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
