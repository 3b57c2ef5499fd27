import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ValidationFailedError } from './billing.errors';
import { limitOf, type Page, pageOf, type PageQueryDto } from './page.dto';

/**
 * Opaque, tamper-evident cursors of the list endpoints: `<payload>.<mac>`, the payload
 * base64url of JSON `{"s": scope, "v": [keyset values]}`, the mac an HMAC-SHA256 (truncated to
 * 128 bits) of scope and payload under a key derived from the admin key. A cursor is bound to
 * its list (the scope names the route and the filters that shaped it), so a cursor edited by
 * hand, made for another list or another filter is refused (400 naming `cursor`), never used to
 * page through something else.
 */
const CURSOR = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{22})$/;

export type CursorValue = string | number;

export class PageCursors {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('billing-api page cursor v1').digest();
  }

  encode(scope: string, values: readonly CursorValue[]): string {
    const payload = Buffer.from(JSON.stringify({ s: scope, v: values }), 'utf8').toString(
      'base64url',
    );
    return `${payload}.${this.mac(scope, payload)}`;
  }

  /** The keyset values of a cursor made by encode for this scope, or null. */
  decode(scope: string, cursor: string): CursorValue[] | null {
    const m = CURSOR.exec(cursor);
    if (m === null || m[1] === undefined || m[2] === undefined) return null;
    const expected = Buffer.from(this.mac(scope, m[1]), 'utf8');
    const given = Buffer.from(m[2], 'utf8');
    if (!timingSafeEqual(expected, given)) return null;
    const text = decodeBase64urlText(m[1]);
    if (text === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { s, v } = parsed as { s?: unknown; v?: unknown };
    if (s !== scope || !Array.isArray(v)) return null;
    const values: unknown[] = v;
    return values.every(isCursorValue) ? values : null;
  }

  /** decode, or a 400 naming `cursor`. */
  require(scope: string, cursor: string): CursorValue[] {
    const values = this.decode(scope, cursor);
    if (values === null) {
      throw new ValidationFailedError([
        {
          field: 'cursor',
          message: 'is not a cursor of this list (use nextCursor of the previous page, unchanged)',
        },
      ]);
    }
    return values;
  }

  /**
   * One page of a list in keyset order: the cursor's position (or null for the first page),
   * `limit + 1` rows fetched after it, and the next cursor standing for the last row shown.
   * `scope` names the list and every filter that shapes it (a cursor is valid for it only).
   */
  async page<R, T>(
    scope: readonly (string | undefined)[],
    query: PageQueryDto,
    fetch: (after: string | null, rows: number) => Promise<R[]>,
    positionOf: (row: R) => string,
    toItem: (row: R) => T,
  ): Promise<Page<T>> {
    const bound = scope.map((part) => part ?? '').join('\n');
    const after = query.cursor === undefined ? null : this.require(bound, query.cursor)[0];
    if (after !== undefined && after !== null && typeof after !== 'string') {
      throw new Error('page cursors hold string positions');
    }
    const limit = limitOf(query);
    const rows = await fetch(after ?? null, limit + 1);
    return pageOf(rows, limit, toItem, (last) => this.encode(bound, [positionOf(last)]));
  }

  private mac(scope: string, payload: string): string {
    return createHmac('sha256', this.key)
      .update(`${scope}\n${payload}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }
}

function isCursorValue(x: unknown): x is CursorValue {
  return typeof x === 'string' || typeof x === 'number';
}

/**
 * The UTF-8 text of canonical base64url (no trailing bits), or null: valid UTF-8 without NUL
 * (the ledger cannot hold one). Shared by every cursor format.
 */
export function decodeBase64urlText(encoded: string): string | null {
  const bytes = Buffer.from(encoded, 'base64url');
  if (bytes.length === 0 || bytes.toString('base64url') !== encoded) return null;
  if (!isUtf8(bytes) || bytes.includes(0)) return null;
  return bytes.toString('utf8');
}
