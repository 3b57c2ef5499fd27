import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { type Request, type Response } from 'express';
import { MoneyError } from '@metering/money';
import { createLogger, type Logger, ROOT_LOGGER } from '@metering/observability';
import { PricingError } from '@metering/pricing';
import {
  BillingError,
  type BillingErrorCode,
  type FieldProblem,
  PROBLEM_TITLES,
  problemType,
  RateLimitedError,
} from './billing.errors';
import { type ErrorResponseDto } from './error-response.dto';
import { INVALID_UTF8_BODY } from './request-body';

/** An error before it becomes a problem document (the request adds `instance`). */
export interface ErrorAnswer {
  readonly statusCode: number;
  readonly code: BillingErrorCode;
  readonly message: string;
  readonly field?: string;
  readonly errors?: FieldProblem[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** RFC 9457 members first, then our extension members (`code`, `field`, `errors`). */
export function toProblem(answer: ErrorAnswer, instance: string): ErrorResponseDto {
  return {
    type: problemType(answer.code),
    title: PROBLEM_TITLES[answer.code],
    status: answer.statusCode,
    detail: answer.message,
    instance,
    code: answer.code,
    ...(answer.field === undefined ? {} : { field: answer.field }),
    ...(answer.errors === undefined ? {} : { errors: answer.errors }),
  };
}

/**
 * The one place where errors become HTTP answers (RFC 9457 problem documents): domain and API errors by their stable code,
 * framework errors (unknown route, bad JSON, throttling) by status, anything else as a 500 that
 * says nothing about the internals. The stack goes to the log, never to the client.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(@Inject(ROOT_LOGGER) root: Logger) {
    this.logger = createLogger(ErrorFilter.name, { parent: root });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    const body = this.toBody(exception);
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception }, 'request failed');
    }
    if (response.headersSent) {
      // A streamed export failed midway: the only honest signal left is a cut connection.
      response.destroy();
      return;
    }
    // The path only: the query string is the client's own input and may be anything.
    const instance = typeof request.path === 'string' ? request.path : '/';
    const problem = toProblem(body, instance);
    if (exception instanceof RateLimitedError) {
      response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    }
    // Serialised as express's res.json would (with `json escape`), under the problem type.
    response
      .status(body.statusCode)
      .type(PROBLEM_CONTENT_TYPE)
      .send(Buffer.from(escapeJson(JSON.stringify(problem)), 'utf8'));
  }

  toBody(exception: unknown): ErrorAnswer {
    if (exception instanceof BillingError) {
      return {
        statusCode: exception.status,
        code: exception.code,
        message: exception.message,
        ...(exception.field === undefined ? {} : { field: exception.field }),
        ...(exception.problems === undefined ? {} : { errors: [...exception.problems] }),
      };
    }
    if (exception instanceof PricingError) {
      return {
        statusCode: 422,
        code: 'PLAN_INVALID',
        message: exception.message,
        field: exception.field,
      };
    }
    if (exception instanceof MoneyError) {
      // A number the DTO let through and libs/money refused: still the caller's input, still a
      // 400 with a field, but a gap in validation worth a log line.
      this.logger.warn({ err: exception }, 'a body value passed validation but not libs/money');
      return malformed('body', exception.message);
    }
    if (exception instanceof ThrottlerException) {
      return { statusCode: 429, code: 'RATE_LIMITED', message: 'too many requests; retry later' };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Our own errors are BillingErrors: a framework 400 is the router's (a path parameter that
      // is not percent-encoded UTF-8, wrapped by Nest) or the JSON body parser's.
      if (status === 400) {
        return isPathDecodingError(exception)
          ? malformed('path', 'is not valid percent-encoded UTF-8')
          : malformed('body', 'is not valid JSON');
      }
      return { statusCode: status, code: codeOf(status), message: messageOf(status) };
    }
    // The router's and body-parser's errors (a path that is not percent-encoded UTF-8, malformed
    // JSON, invalid UTF-8, too large, bad charset) carry a 4xx status.
    const status = httpStatusOf(exception);
    if (status !== undefined && status >= 400 && status < 500) {
      if (status !== 400) {
        return { statusCode: status, code: codeOf(status), message: messageOf(status) };
      }
      if (isPathDecodingError(exception)) {
        return malformed('path', 'is not valid percent-encoded UTF-8');
      }
      return malformed(
        'body',
        typeOf(exception) === INVALID_UTF8_BODY ? 'is not valid UTF-8' : 'is not valid JSON',
      );
    }
    return { statusCode: 500, code: 'INTERNAL', message: 'internal error' };
  }
}

/** What express's `json escape` setting does: <, > and & as \u003c, \u003e, \u0026. */
export function escapeJson(json: string): string {
  return json.replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function malformed(field: 'path' | 'body', message: string): ErrorAnswer {
  return { statusCode: 400, code: 'VALIDATION_FAILED', message: `${field}: ${message}`, field };
}

/** The router (express 5's `router`) wraps decodeURIComponent's URIError for path parameters. */
function isPathDecodingError(exception: unknown): boolean {
  return (
    exception instanceof URIError ||
    (exception instanceof Error && exception.message.startsWith('Failed to decode param'))
  );
}

function typeOf(exception: unknown): unknown {
  return typeof exception === 'object' && exception !== null
    ? (exception as { type?: unknown }).type
    : undefined;
}

function httpStatusOf(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const candidate =
    (exception as { status?: unknown; statusCode?: unknown }).status ??
    (exception as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' ? candidate : undefined;
}

function codeOf(status: number): BillingErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
    default:
      return status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED';
  }
}

function messageOf(status: number): string {
  switch (status) {
    case 404:
      return 'no such route';
    case 413:
      return 'body: too large';
    default:
      return status >= 500 ? 'internal error' : 'the request is invalid';
  }
}
