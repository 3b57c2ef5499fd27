import { decodeBase64urlText } from '../common/page-cursor';

/**
 * The cursor of GET /v1/unbilled-usage: the last tenant id of a page, base64url of its UTF-8.
 * Opaque to clients; tenant ids may hold any character the ledger can store, and base64url keeps
 * them out of the query string's syntax. (The other lists sign theirs: common/page-cursor.ts.)
 */
const CURSOR = /^[A-Za-z0-9_-]{1,2048}$/;

export function encodeCursor(tenantId: string): string {
  return Buffer.from(tenantId, 'utf8').toString('base64url');
}

/** The tenant id a cursor stands for, or null when no page could have returned it. */
export function decodeCursor(cursor: string): string | null {
  return CURSOR.test(cursor) ? decodeBase64urlText(cursor) : null;
}
