import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';
import { CSRF_HEADER, PORTAL_COOKIE } from '../portal/portal-cookie';
import { ACCESS_KEY, type Access, type AuthenticatedRequest, type Principal } from './principal';

/** Admin key only: a tenant key gets 403. */
export function AdminOnly(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_KEY, 'admin' satisfies Access),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'missing or invalid key' }),
    ApiForbiddenResponse({ type: ErrorResponseDto, description: 'a tenant key on an admin route' }),
  );
}

/**
 * The admin key, or the key of the tenant named by the `:id` parameter. Another tenant's id
 * answers 404 exactly like an unknown one: a tenant key learns nothing about other tenants.
 */
export function TenantScoped(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_KEY, 'tenant' satisfies Access),
    ApiBearerAuth(),
    ApiCookieAuth(PORTAL_COOKIE),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'missing or invalid key' }),
    ApiNotFoundResponse({
      type: ErrorResponseDto,
      description: 'unknown tenant, or another tenant than the key belongs to',
    }),
  );
}

/** The admin key or any tenant key; the handler answers only what the principal may see. */
export function AnyPrincipal(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_KEY, 'any' satisfies Access),
    ApiBearerAuth(),
    ApiCookieAuth(PORTAL_COOKIE),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'missing or invalid key' }),
  );
}

/** The authenticated caller (set by AuthGuard). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (principal === undefined) throw new Error('CurrentPrincipal on a route without AuthGuard');
    return principal;
  },
);

/** Anyone: the route authenticates its caller itself (portal sign-in). */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(ACCESS_KEY, 'public' satisfies Access);
}

/** The portal's session cookie only (never a bearer key): the session's own routes. */
export function PortalSessionOnly(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_KEY, 'session' satisfies Access),
    ApiCookieAuth(PORTAL_COOKIE),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'no live portal session' }),
  );
}

/**
 * Documents what a write answers to a portal session (AuthGuard enforces it on every write):
 * the X-CSRF-Token header, and 403 CSRF_TOKEN_INVALID or READ_ONLY_SESSION.
 */
export function SessionWrite(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: CSRF_HEADER,
      required: false,
      description: `With the ${PORTAL_COOKIE} session cookie: the session's csrfToken (required)`,
    }),
    ApiForbiddenResponse({
      type: ErrorResponseDto,
      description:
        'a portal session without its X-CSRF-Token (CSRF_TOKEN_INVALID), or a read-only one (READ_ONLY_SESSION)',
    }),
  );
}
