import type { components } from './api/billing-api';
import { api, call, setCsrfToken } from './api/client';
import { ApiProblem } from './api/problem';

/** A portal session as billing-api answers it (POST /v1/portal/sessions, GET /v1/portal/session). */
export type Session = components['schemas']['PortalSessionDto'];

function started(session: Session): Session {
  setCsrfToken(session.csrfToken);
  return session;
}

/** Exchanges a tenant API key, or an admin link's token, for a session cookie. */
export async function signIn(
  credential: { apiKey: string } | { linkToken: string },
): Promise<Session> {
  return started(
    await call(api.POST('/v1/portal/sessions', { body: credential }), { quiet401: true }),
  );
}

/** The current session, or null when there is none (401). */
export async function currentSession(): Promise<Session | null> {
  try {
    return started(await call(api.GET('/v1/portal/session'), { quiet401: true }));
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) return null;
    throw error;
  }
}

/** Ends the session (the cookie is cleared by the answer); a gone session is no error. */
export async function signOut(csrfToken: string): Promise<void> {
  try {
    await call(
      api.DELETE('/v1/portal/session', { params: { header: { 'X-CSRF-Token': csrfToken } } }),
      { quiet401: true },
    );
  } catch (error) {
    if (!(error instanceof ApiProblem && error.status === 401)) throw error;
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
