import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Request } from 'express';
import { HealthController, MetricsController } from '@metering/observability';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../common/billing.errors';
import { ApiKeyService } from './api-key.service';
import { ACCESS_KEY, type Access, type AuthenticatedRequest } from './principal';

const PUBLIC_CONTROLLERS: readonly unknown[] = [HealthController, MetricsController];

/**
 * Every route needs a key unless it is /healthz or /metrics. A route without an access mark is
 * admin-only (the safe default). Tenant keys reach only routes marked tenant-scoped, and only
 * for their own `:id`; anything else about another tenant is a 404, never its data.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
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
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    const principal = match?.[1] === undefined ? null : await this.keys.authenticate(match[1]);
    if (principal === null) throw new UnauthenticatedError();
    request.principal = principal;

    if (principal.kind === 'admin') return true;
    if (access === 'admin') throw new ForbiddenError();
    if (access === 'principal') return true;
    const tenantId = request.params.id;
    if (tenantId !== principal.tenantId) {
      throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${String(tenantId)} does not exist`);
    }
    return true;
  }
}
