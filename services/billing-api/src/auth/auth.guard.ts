import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Request } from 'express';
import { HealthController, MetricsController } from '@metering/observability';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../common/billing.errors';
import { CSRF_HEADER, PORTAL_COOKIE, portalCookieOf } from '../portal/portal-cookie';
import { PortalSessionService } from '../portal/portal-session.service';
import { ApiKeyService } from './api-key.service';
import { ACCESS_KEY, type Access, type AuthenticatedRequest, type Principal } from './principal';

const PUBLIC_CONTROLLERS: readonly unknown[] = [HealthController, MetricsController];
/** Methods that change nothing: no CSRF token, allowed to read-only sessions. */
const SAFE_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS'];

/**
 * Every route needs a key unless it is /healthz or /metrics. A route without an access mark is
 * admin-only (the safe default). Tenant keys reach only routes marked tenant-scoped, and only
 * for their own `:id`; anything else about another tenant is a 404, never its data.
 *
 * Without an Authorization header, the portal's session cookie authenticates as its tenant
 * (docs/adr/0012-tenant-portal.md), under the same rules; a write in a session also needs the
 * session's X-CSRF-Token (403 CSRF_TOKEN_INVALID) and a session that is not read-only (403
 * READ_ONLY_SESSION). A bearer key is never asked for a CSRF token: browsers do not attach it.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly sessions: PortalSessionService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (PUBLIC_CONTROLLERS.includes(context.getClass())) return true;
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    if (access === 'public') return true;

    const request = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const header = request.headers.authorization;
    const principal =
      access === 'session' || header === undefined
        ? await this.fromSession(request, access)
        : await this.fromBearer(header);
    request.principal = principal;

    if (principal.kind === 'admin') return true;
    if (access === 'admin') throw new ForbiddenError();
    if (access === 'any' || access === 'session') return true;
    const tenantId = request.params.id;
    if (tenantId !== principal.tenantId) {
      throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${String(tenantId)} does not exist`);
    }
    return true;
  }

  private async fromBearer(header: string): Promise<Principal> {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    const principal = match?.[1] === undefined ? null : await this.keys.authenticate(match[1]);
    if (principal === null) throw new UnauthenticatedError();
    return principal;
  }

  private async fromSession(request: Request, access: Access): Promise<Principal> {
    const cookie = portalCookieOf(request.headers.cookie);
    if (cookie.kind === 'none') {
      throw new UnauthenticatedError(
        access === 'session'
          ? `no portal session: sign in with POST /v1/portal/sessions`
          : `a valid API key is required: Authorization: Bearer <key> (or the portal's ${PORTAL_COOKIE} session cookie)`,
      );
    }
    if (cookie.kind === 'invalid')
      throw new UnauthenticatedError(`${cookie.reason}; sign in again`);
    const active = await this.sessions.resolve(cookie);
    if (active === null) {
      throw new UnauthenticatedError(
        'the portal session has expired or ended; sign in again with POST /v1/portal/sessions',
      );
    }
    if (!SAFE_METHODS.includes(request.method)) {
      const csrf = request.headers[CSRF_HEADER.toLowerCase()];
      if (!this.sessions.csrfMatches(active, typeof csrf === 'string' ? csrf : undefined)) {
        throw new ForbiddenError(
          'CSRF_TOKEN_INVALID',
          `${CSRF_HEADER}: a write in a portal session needs the session's csrfToken in this header`,
          CSRF_HEADER,
        );
      }
      // Signing out is the one write a read-only session may make.
      if (active.principal.readOnly && access !== 'session') {
        throw new ForbiddenError(
          'READ_ONLY_SESSION',
          'this portal session was opened read-only from an admin link; it cannot change anything',
        );
      }
    }
    return active.principal;
  }
}
