import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type BillingConfig } from '../config';
import { ApiKeyService } from '../auth/api-key.service';
import { type Principal } from '../auth/principal';
import {
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
} from '../common/billing.errors';
import { Clock } from '../common/clock';
import { BILLING_CONFIG } from '../common/tokens';
import { TenantRepository } from '../tenants/tenant.repository';
import {
  csrfTokenOf,
  isToken,
  matchesSha256,
  newToken,
  PORTAL_COOKIE,
  type PortalCookie,
  tokenSha256,
} from './portal-cookie';
import { PortalSessionRepository, type SessionRow } from './portal-session.repository';
import { SignInLimiter } from './sign-in-limiter';

/** What the portal is told about its session (POST and GET /v1/portal/session[s]). */
export interface SessionView {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly readOnly: boolean;
  /** When the session ends unless used again (idle), or its absolute end, whichever is first. */
  readonly expiresAt: string;
  readonly csrfToken: string;
  readonly timeZone: string;
  readonly currency: string;
  /** The API key the session was opened with (its revocation ends the session); null for a link. */
  readonly apiKeyId: string | null;
}

/** A session that authenticated a request (AuthGuard). */
export interface ActiveSession {
  readonly principal: Extract<Principal, { via: 'session' }>;
  readonly csrfSha256: Buffer;
  readonly row: SessionRow;
}

export interface OpenedSession {
  /** The cookie's value: shown to the browser once, stored only as SHA-256. */
  readonly token: string;
  readonly view: SessionView;
}

const UNKNOWN_SESSION = `no portal session: sign in with POST /v1/portal/sessions (the ${PORTAL_COOKIE} cookie is missing, expired or ended)`;

/**
 * Portal sign-in (docs/adr/0012-tenant-portal.md): a tenant API key or an admin's one-time
 * link is exchanged for a session whose random token travels only in an HttpOnly cookie. Tokens
 * (session, CSRF, link) are stored as SHA-256; the clock is the service's (test clocks apply).
 */
@Injectable()
export class PortalSessionService {
  private readonly limiter: SignInLimiter;
  private readonly csrfKey: Buffer;

  constructor(
    private readonly sessions: PortalSessionRepository,
    private readonly keys: ApiKeyService,
    private readonly tenants: TenantRepository,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {
    this.limiter = new SignInLimiter(config.portal.signIn.failures, config.portal.signIn.windowMs);
    // A key of its own, derived from the admin key (as page cursors'): another deployment's
    // sessions never match, and rotating the admin key signs every portal user out.
    this.csrfKey = createHmac('sha256', config.adminApiKey).update('portal-csrf-key').digest();
  }

  /** Exchanges a tenant's API key for a session; the admin key is refused (403). */
  async signInWithKey(apiKey: string, client: string): Promise<OpenedSession> {
    this.refuseWhileLimited(client);
    const principal = await this.keys.authenticate(apiKey);
    if (principal === null) {
      this.limiter.recordFailure(client, this.clock.now());
      throw new UnauthenticatedError('apiKey: not a valid tenant API key (it may be revoked)');
    }
    if (principal.kind === 'admin') {
      throw new ForbiddenError(
        'FORBIDDEN',
        'apiKey: the admin key does not sign in to the portal; open a tenant read-only with POST /v1/tenants/{id}/portal-links',
        'apiKey',
      );
    }
    const keyId = principal.kind === 'tenant' ? principal.keyId : null;
    return this.open(principal.tenantId, keyId, false);
  }

  /** Uses an admin's one-time link: a read-only session of its tenant. */
  async signInWithLink(linkToken: string, client: string): Promise<OpenedSession> {
    this.refuseWhileLimited(client);
    const tenantId = isToken(linkToken)
      ? await this.sessions.consumeLink(tokenSha256(linkToken), this.clock.now())
      : null;
    if (tenantId === null) {
      this.limiter.recordFailure(client, this.clock.now());
      throw new UnauthenticatedError(
        'linkToken: unknown, already used or expired (a link opens one session, within minutes of being made)',
      );
    }
    return this.open(tenantId, null, true);
  }

  /** The session of a request's cookie, its idle clock moved; null when there is none. */
  async resolve(cookie: PortalCookie): Promise<ActiveSession | null> {
    if (cookie.kind !== 'one') return null;
    const row = await this.sessions.touch(
      tokenSha256(cookie.token),
      this.clock.now(),
      this.config.portal.sessionIdleMs,
    );
    if (row === null) return null;
    // A request in a session counts as a use of the key it was opened with.
    if (row.apiKeyId !== null) await this.keys.recordUse(row.apiKeyId);
    return {
      row,
      csrfSha256: row.csrfSha256,
      principal: {
        kind: 'tenant',
        tenantId: row.tenantId,
        keyId: row.apiKeyId,
        via: 'session',
        readOnly: row.readOnly,
      },
    };
  }

  /** The view of a live session (GET /v1/portal/session); 401 when the cookie has none. */
  async view(cookie: PortalCookie): Promise<SessionView> {
    const active = await this.resolve(cookie);
    if (active === null || cookie.kind !== 'one') throw new UnauthenticatedError(UNKNOWN_SESSION);
    return this.viewOf(cookie.token, active.row);
  }

  async end(cookie: PortalCookie): Promise<void> {
    if (cookie.kind === 'one') await this.sessions.delete(tokenSha256(cookie.token));
  }

  /** Whether a write's X-CSRF-Token header is its session's token (constant time). */
  csrfMatches(active: ActiveSession, header: string | undefined): boolean {
    return (
      typeof header === 'string' && isToken(header) && matchesSha256(header, active.csrfSha256)
    );
  }

  /** A one-time read-only link to a tenant's portal (admin only; 5 minutes by default). */
  async issueLink(tenantId: string): Promise<{ token: string; url: string; expiresAt: string }> {
    if ((await this.tenants.find(tenantId)) === null) {
      throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${tenantId} does not exist`);
    }
    const token = newToken();
    const now = this.clock.now();
    const expiresAtMs = now + this.config.portal.linkTtlMs;
    await this.sessions.insertLink(tokenSha256(token), tenantId, now, expiresAtMs);
    // In the fragment: browsers send it to no server (no access log, no Referer).
    return { token, url: `/portal/#link=${token}`, expiresAt: new Date(expiresAtMs).toISOString() };
  }

  private refuseWhileLimited(client: string): void {
    const waitMs = this.limiter.retryAfterMs(client, this.clock.now());
    if (waitMs > 0) {
      throw new RateLimitedError(
        Math.ceil(waitMs / 1000),
        'too many failed sign-ins from this address; retry after the time in Retry-After',
      );
    }
  }

  private async open(
    tenantId: string,
    apiKeyId: string | null,
    readOnly: boolean,
  ): Promise<OpenedSession> {
    const token = newToken();
    const csrf = csrfTokenOf(this.csrfKey, token);
    const now = this.clock.now();
    await this.sessions.insert({
      tokenSha256: tokenSha256(token),
      tenantId,
      apiKeyId,
      readOnly,
      csrfSha256: tokenSha256(csrf),
      nowMs: now,
      expiresAtMs: now + this.config.portal.sessionMaxMs,
    });
    const row = await this.sessions.touch(
      tokenSha256(token),
      now,
      this.config.portal.sessionIdleMs,
    );
    if (row === null) throw new UnauthenticatedError(UNKNOWN_SESSION);
    return { token, view: this.viewOf(token, row) };
  }

  private viewOf(token: string, row: SessionRow): SessionView {
    const idleEnd = row.lastSeenAt.getTime() + this.config.portal.sessionIdleMs;
    return {
      tenantId: row.tenantId,
      tenantName: row.tenantName,
      readOnly: row.readOnly,
      expiresAt: new Date(Math.min(idleEnd, row.expiresAt.getTime())).toISOString(),
      csrfToken: csrfTokenOf(this.csrfKey, token),
      timeZone: row.timeZone,
      currency: row.currency,
      apiKeyId: row.apiKeyId,
    };
  }
}
