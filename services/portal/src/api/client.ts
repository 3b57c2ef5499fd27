import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './billing-api';
import { ApiProblem } from './problem';

/**
 * The typed billing-api client (openapi-fetch over the generated paths). Same origin: the
 * session cookie (HttpOnly, SameSite=Strict) goes with every request; every write carries the
 * session's CSRF token.
 */
export const api = createClient<paths>({ baseUrl: location.origin, credentials: 'same-origin' });

let csrfToken: string | null = null;
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when an answer says the session is gone (401): the app shows the sign-in page. */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken !== null) {
      request.headers.set('X-CSRF-Token', csrfToken);
    }
    return request;
  },
};
api.use(session);

/** The data of a 2xx answer, or throws its ApiProblem (401 also ends the session). */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
  options: { quiet401?: boolean } = {},
): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await request;
  } catch (error) {
    throw ApiProblem.network(error);
  }
  const { response } = answer;
  if (!response.ok) {
    const problem = ApiProblem.from(response.status, answer.error);
    if (response.status === 401 && options.quiet401 !== true) onUnauthenticated();
    throw problem;
  }
  return answer.data as T;
}

/** A same-origin URL of the API, for download links (the cookie authenticates them). */
export function apiUrl(path: string, query: Record<string, string> = {}): string {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.pathname + url.search;
}
