import { isUtf8 } from 'node:buffer';

/**
 * The cursor of GET /v1/unbilled-usage: the last tenant id of a page, base64url of its UTF-8.
 * Opaque to clients; tenant ids may hold any character the ledger can store, and base64url keeps
 * them out of the query string's syntax.
 */
const CURSOR = /^[A-Za-z0-9_-]{1,2048}$/;

export function encodeCursor(tenantId: string): string {
  return Buffer.from(tenantId, 'utf8').toString('base64url');
}

/** The tenant id a cursor stands for, or null when no page could have returned it. */
export function decodeCursor(cursor: string): string | null {
  if (!CURSOR.test(cursor)) return null;
  const bytes = Buffer.from(cursor, 'base64url');
  // Canonical only (no trailing bits), valid UTF-8, and no NUL (the ledger cannot hold one).
  if (bytes.length === 0 || bytes.toString('base64url') !== cursor) return null;
  if (!isUtf8(bytes) || bytes.includes(0)) return null;
  return bytes.toString('utf8');
}
