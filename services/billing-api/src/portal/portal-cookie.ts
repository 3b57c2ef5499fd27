import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The session cookie (docs/product.md, "Tenant portal"). */
export const PORTAL_COOKIE = 'metering_portal';
/** The header a cookie-authenticated write must carry (the session's CSRF token). */
export const CSRF_HEADER = 'X-CSRF-Token';

/** 32 random bytes in base64url: session tokens, CSRF tokens, link tokens. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type PortalCookie =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly token: string }
  /** Present but unusable: malformed, or sent more than once (cookie tossing): never guessed at. */
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * The portal cookie in a Cookie header (RFC 6265 §5.4: `name=value` pairs joined by `; `). Two
 * cookies of that name (one set for a parent domain, say) are refused rather than picking one.
 */
export function portalCookieOf(header: string | readonly string[] | undefined): PortalCookie {
  if (header === undefined) return { kind: 'none' };
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length > 16_384) return { kind: 'invalid', reason: 'the Cookie header is too long' };
  const values: string[] = [];
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() !== PORTAL_COOKIE) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    values.push(value);
  }
  if (values.length === 0) return { kind: 'none' };
  if (values.length > 1)
    return { kind: 'invalid', reason: `${PORTAL_COOKIE} was sent more than once` };
  const token = values[0] ?? '';
  return isToken(token)
    ? { kind: 'one', token }
    : { kind: 'invalid', reason: `${PORTAL_COOKIE} is not a session token` };
}

export function isToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenSha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The CSRF token of a session: HMAC-SHA256 of the session token under a server key, so the
 * session's page can be given it again after a reload (GET /v1/portal/session) although only
 * its SHA-256 is stored. Knowing it does not reveal the cookie's token.
 */
export function csrfTokenOf(key: Buffer, sessionToken: string): string {
  return createHmac('sha256', key).update(`portal-csrf\u0000${sessionToken}`).digest('base64url');
}

/** A presented token against a stored SHA-256, in time independent of their content. */
export function matchesSha256(presented: string, expected: Buffer): boolean {
  const actual = tokenSha256(presented);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
