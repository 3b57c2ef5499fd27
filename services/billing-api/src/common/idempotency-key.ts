import { createHash } from 'node:crypto';

/** Idempotency-Key: 1 to 255 printable ASCII characters (space to tilde). */
const KEY = /^[\x20-\x7e]{1,255}$/;

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** A stored first answer is replayed for this long; then the key may be used afresh. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * A first request that never finished (its process died) holds its key this long, then a retry
 * may run. Longer than any POST takes (closing 1,000 tenants takes well under a minute).
 */
export const IDEMPOTENCY_ABANDONED_MS = 10 * 60_000;

/** Why a header value is refused, or null. Several values (the header given twice) are refused. */
export function idempotencyKeyProblem(values: readonly string[]): string | null {
  if (values.length !== 1) return 'must be given once';
  const [value] = values;
  if (value === undefined || !KEY.test(value)) {
    return 'must be 1 to 255 printable ASCII characters';
  }
  return null;
}

/**
 * What a key is bound to: the method, the path with its query, and the body's bytes as sent.
 * The same key with another request is refused rather than answered with another's response.
 */
export function requestFingerprint(method: string, url: string, body: Buffer | undefined): Buffer {
  return createHash('sha256')
    .update(`${method}\n${url}\n`, 'utf8')
    .update(body ?? Buffer.alloc(0))
    .digest();
}
