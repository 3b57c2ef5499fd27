import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type Request, type Response } from 'express';
import { PortalSessionOnly, Public } from '../auth/access.decorator';
import { type BillingConfig } from '../config';
import { ValidationFailedError } from '../common/billing.errors';
import { ErrorResponseDto } from '../common/error-response.dto';
import { BILLING_CONFIG } from '../common/tokens';
import { CSRF_HEADER, PORTAL_COOKIE, portalCookieOf } from './portal-cookie';
import { PortalSessionDto, PortalSignInDto } from './portal.dto';
import { PortalSessionService, type SessionView } from './portal-session.service';
import { clientKeyOf } from './sign-in-limiter';

/**
 * The portal's sign-in, session and sign-out (docs/product.md, "Tenant portal"). The session
 * token travels only in the HttpOnly cookie; the page gets the CSRF token in the body.
 */
@ApiTags('portal')
@Controller('v1/portal')
export class PortalSessionController {
  constructor(
    private readonly sessions: PortalSessionService,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  @Post('sessions')
  @Public()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createPortalSession',
    summary: 'Sign in to the portal with a tenant API key or an admin link token',
    description:
      `Body: exactly one of apiKey and linkToken. Sets the ${PORTAL_COOKIE} cookie (HttpOnly, SameSite=Strict, Path=/, ` +
      'Secure over TLS). Failed sign-ins are limited per client address (429 with Retry-After). ' +
      'An Idempotency-Key is ignored here: a sign-in is never replayed.',
  })
  @ApiCreatedResponse({ type: PortalSessionDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'neither or both, wrong types' })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: 'unknown or revoked key, used or expired link',
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'the admin key' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'too many failed sign-ins' })
  async create(
    @Body() body: PortalSignInDto,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<PortalSessionDto> {
    const hasKey = body.apiKey !== undefined;
    const hasLink = body.linkToken !== undefined;
    if (hasKey === hasLink) {
      throw new ValidationFailedError([
        {
          field: hasKey ? 'linkToken' : 'apiKey',
          message: hasKey
            ? 'give apiKey or linkToken, not both'
            : 'required: a tenant API key (or linkToken, the token of an admin link)',
        },
      ]);
    }
    // The address TRUSTED_PROXIES makes of the request (app.factory.ts), keyed by sign-in-limiter.ts.
    const client = clientKeyOf(request.ip ?? request.socket.remoteAddress ?? 'unknown');
    const opened =
      body.apiKey !== undefined
        ? await this.sessions.signInWithKey(body.apiKey, client)
        : await this.sessions.signInWithLink(body.linkToken ?? '', client);
    // A browser that was signed in before: that session ends (one cookie, one session).
    await this.sessions.end(portalCookieOf(request.headers.cookie));
    response.cookie(PORTAL_COOKIE, opened.token, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: request.secure || this.config.portal.cookieSecure,
      maxAge: this.config.portal.sessionMaxMs,
    });
    response.setHeader('Cache-Control', 'no-store');
    return opened.view;
  }

  @Get('session')
  @PortalSessionOnly()
  @ApiOperation({
    operationId: 'getPortalSession',
    summary: 'The session of the portal cookie (moves its idle timeout); 401 when there is none',
  })
  @ApiOkResponse({ type: PortalSessionDto })
  async get(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SessionView> {
    response.setHeader('Cache-Control', 'no-store');
    return this.sessions.view(portalCookieOf(request.headers.cookie));
  }

  @Delete('session')
  @PortalSessionOnly()
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deletePortalSession',
    summary: 'Sign out: ends the session and clears the cookie (needs X-CSRF-Token)',
  })
  @ApiHeader({ name: CSRF_HEADER, required: true, description: 'The csrfToken of the session' })
  @ApiNoContentResponse({ description: 'signed out' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'CSRF_TOKEN_INVALID' })
  async delete(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    await this.sessions.end(portalCookieOf(request.headers.cookie));
    response.clearCookie(PORTAL_COOKIE, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: request.secure || this.config.portal.cookieSecure,
    });
  }
}
