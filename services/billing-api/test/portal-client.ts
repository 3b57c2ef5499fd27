import { type ApiAnswer, type BillingHarness } from './billing-harness';

export interface PortalSessionJson {
  tenantId: string;
  tenantName: string;
  readOnly: boolean;
  expiresAt: string;
  csrfToken: string;
  timeZone: string;
  currency: string;
  apiKeyId: string | null;
}

/** The value of `metering_portal` in a Set-Cookie answer (undefined when not set). */
export function sessionCookieOf(answer: ApiAnswer): string | undefined {
  for (const line of answer.headers.getSetCookie()) {
    const m = /^metering_portal=([^;]*)/.exec(line);
    if (m !== null) return m[1];
  }
  return undefined;
}

/**
 * A browser's view of the portal, as far as a test needs it: the session cookie it was given,
 * sent back on every request, no Authorization header, and the CSRF token when asked.
 */
export class PortalClient {
  cookie = '';
  csrf = '';

  constructor(private readonly h: BillingHarness) {}

  /** Signs in; throws unless 201. */
  async signIn(body: Record<string, unknown>): Promise<PortalSessionJson> {
    const r = await this.h.call('POST', '/v1/portal/sessions', { key: null, body });
    if (r.status !== 201) throw new Error(`sign-in: ${r.status} ${r.text}`);
    this.cookie = sessionCookieOf(r) ?? '';
    const session = r.json as PortalSessionJson;
    this.csrf = session.csrfToken;
    return session;
  }

  /** A request with the cookie; `csrf: true` adds the session's X-CSRF-Token. */
  call(
    method: string,
    path: string,
    options: { body?: unknown; csrf?: boolean | string; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookie !== '') headers.cookie = `metering_portal=${this.cookie}`;
    if (options.csrf === true) headers['x-csrf-token'] = this.csrf;
    else if (typeof options.csrf === 'string') headers['x-csrf-token'] = options.csrf;
    return this.h.call(method, path, { key: null, body: options.body, headers });
  }
}
