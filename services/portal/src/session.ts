import { ApiProblem } from './api/problem';
import { setCsrfToken } from './api/client';

/** A portal session as billing-api answers it (POST /v1/portal/sessions, GET /v1/portal/session). */
export interface Session {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly readOnly: boolean;
  readonly expiresAt: string;
  readonly csrfToken: string;
  readonly timeZone: string;
  readonly currency: string;
}

async function sessionCall(method: string, path: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw ApiProblem.network(error);
  }
}

async function readSession(response: Response): Promise<Session> {
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw ApiProblem.from(response.status, body);
  const session = body as Session;
  setCsrfToken(session.csrfToken);
  return session;
}

/** Exchanges a tenant API key, or an admin link's token, for a session cookie. */
export async function signIn(
  credential: { apiKey: string } | { linkToken: string },
): Promise<Session> {
  return readSession(await sessionCall('POST', '/v1/portal/sessions', credential));
}

/** The current session, or null when there is none (401). */
export async function currentSession(): Promise<Session | null> {
  const response = await sessionCall('GET', '/v1/portal/session');
  if (response.status === 401) return null;
  return readSession(response);
}

export async function signOut(csrfToken: string): Promise<void> {
  try {
    await fetch('/v1/portal/session', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrfToken },
    });
  } finally {
    setCsrfToken(null);
  }
}

/** The admin link's token in the URL fragment (`#link=<token>`), or null. */
export function linkTokenInFragment(hash: string): string | null {
  const match = /^#link=([^&]+)$/.exec(hash);
  if (match?.[1] === undefined) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}
