import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tenant API keys: `mk_<id>_<secret>`, id = 16 hex digits (public: it finds the row), secret =
 * 256 random bits in base64url (43 characters). Only SHA-256 of the secret is stored.
 */
const KEY_PATTERN = /^mk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  readonly id: string;
  readonly key: string;
  readonly secretSha256: Buffer;
}

export function issueKey(): IssuedKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `mk_${id}_${secret}`, secretSha256: sha256(secret) };
}

export function parseKey(key: string): { id: string; secret: string } | null {
  const m = KEY_PATTERN.exec(key);
  return m === null || m[1] === undefined || m[2] === undefined ? null : { id: m[1], secret: m[2] };
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares two secrets by their hashes (equal length), in time independent of their content. */
export function sameSecret(presented: string, expectedSha256: Buffer): boolean {
  const actual = sha256(presented);
  return actual.length === expectedSha256.length && timingSafeEqual(actual, expectedSha256);
}
