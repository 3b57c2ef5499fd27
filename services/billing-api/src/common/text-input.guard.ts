import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type Request } from 'express';
import { HealthController, MetricsController } from '@metering/observability';
import { ValidationFailedError } from './billing.errors';
import { findTextProblems } from './text-input';

/** Probes and scrapes take no input: junk in their query strings is ignored, never refused. */
const INPUTLESS_CONTROLLERS: readonly unknown[] = [HealthController, MetricsController];

/**
 * One rule for every route, before any handler, pipe or query runs: path parameters, query
 * keys and values and every JSON key and string of the body must be text (text-input.ts), else
 * 400 VALIDATION_FAILED naming the field. Registered after AuthGuard, so an unauthenticated
 * caller still gets 401 and a tenant key still gets 403/404 first.
 */
@Injectable()
export class TextInputGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (INPUTLESS_CONTROLLERS.includes(context.getClass())) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const problems = findTextProblems({
      params: request.params,
      query: request.query,
      body: request.body as unknown,
    });
    if (problems.length > 0) throw new ValidationFailedError(problems);
    return true;
  }
}
