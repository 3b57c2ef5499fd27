import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe's scheme: `Metering-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`
 * where each v1 is HMAC-SHA256(secret, `${t}.${body}`) in lower-case hex. During a secret
 * rotation's overlap the header carries one v1 per secret, so a receiver holding either accepts.
 * The timestamp is signed too, and a receiver refuses one outside its tolerance: a captured
 * delivery cannot be replayed later.
 */
export const WEBHOOK_SIGNATURE_HEADER = 'Metering-Signature';
/** Default tolerance of verifyWebhookSignature: 5 minutes either way. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;
const MAX_HEADER_BYTES = 8 * 1024;

/** HMAC-SHA256 over `${timestampSeconds}.${body}`, lower-case hex. */
export function signWebhookPayload(
  secret: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return createHmac('sha256', secret)
    .update(`${timestampSeconds}.`, 'utf8')
    .update(body)
    .digest('hex');
}

/** The header value for a delivery signed with each of `secrets` (current first). */
export function webhookSignatureHeader(
  secrets: readonly string[],
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return [
    `t=${timestampSeconds}`,
    ...secrets.map((s) => `v1=${signWebhookPayload(s, timestampSeconds, body)}`),
  ].join(',');
}

export type WebhookSignatureErrorCode =
  'MISSING_HEADER' | 'MALFORMED_HEADER' | 'TIMESTAMP_OUT_OF_TOLERANCE' | 'SIGNATURE_MISMATCH';

export class WebhookSignatureError extends Error {
  constructor(
    readonly code: WebhookSignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

export interface VerifyWebhookOptions {
  /** The raw request body exactly as received (not re-serialised JSON). */
  readonly payload: string | Uint8Array;
  /** The Metering-Signature header's value. */
  readonly header: string | string[] | null | undefined;
  /** The endpoint's secret (`whsec_…`). */
  readonly secret: string;
  /** Default 300 s; 0 turns the replay check off (not recommended). */
  readonly toleranceSeconds?: number;
  /** Default Date.now(). */
  readonly nowMs?: number;
}

/**
 * For receivers: checks the header against the raw body and the secret. Throws
 * WebhookSignatureError (with a code) when the header is missing or malformed, its timestamp is
 * outside the tolerance, or no v1 signature matches; returns the signed timestamp otherwise.
 * Then dedupe by the event's `eventId`: deliveries are at least once.
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): { timestamp: number } {
  const raw = Array.isArray(options.header) ? options.header[0] : options.header;
  if (raw === undefined || raw === null || raw === '') {
    throw new WebhookSignatureError('MISSING_HEADER', `no ${WEBHOOK_SIGNATURE_HEADER} header`);
  }
  if (raw.length > MAX_HEADER_BYTES) {
    throw new WebhookSignatureError('MALFORMED_HEADER', 'the signature header is too long');
  }
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) {
    throw new WebhookSignatureError(
      'MALFORMED_HEADER',
      'the signature header needs t=<unix seconds> and at least one v1=<64 hex digits>',
    );
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (tolerance > 0 && Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new WebhookSignatureError(
      'TIMESTAMP_OUT_OF_TOLERANCE',
      `the signature's timestamp is ${nowSeconds - timestamp} s from now; at most ${tolerance} s allowed`,
    );
  }
  const expected = Buffer.from(
    signWebhookPayload(options.secret, timestamp, options.payload),
    'hex',
  );
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  if (!match) {
    throw new WebhookSignatureError('SIGNATURE_MISMATCH', 'no signature matches the payload');
  }
  return { timestamp };
}
