import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Request, type Response } from 'express';
import { catchError, concatMap, from, type Observable } from 'rxjs';
import { createLogger, type Logger, ROOT_LOGGER } from '@metering/observability';
import { type AuthenticatedRequest, principalName } from '../auth/principal';
import { ConflictError, UnprocessableError, ValidationFailedError } from './billing.errors';
import { Clock } from './clock';
import { escapeJson } from './error.filter';
import { IDEMPOTENCY_HEADER, idempotencyKeyProblem, requestFingerprint } from './idempotency-key';
import { IdempotencyRepository } from './idempotency.repository';
import { type RawBodyRequest } from './request-body';

const PURGE_EVERY_MS = 60_000;

/**
 * `Idempotency-Key` on every POST (as Stripe and the IETF draft): the first request under a key
 * runs and its successful answer is stored; a retry with the same method, path and body gets
 * that answer again, byte for byte, without running the handler (`Idempotent-Replayed: true`).
 * The same key with another request is a 422 IDEMPOTENCY_KEY_REUSED; while the first request
 * runs, a duplicate is a 409 IDEMPOTENCY_KEY_IN_USE (retry it). A failed first request stores
 * nothing: its key is free for the retry. Keys are per principal and expire after 24 h.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger: Logger;
  private lastPurgeMs = 0;

  constructor(
    private readonly store: IdempotencyRepository,
    private readonly clock: Clock,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.logger = createLogger(IdempotencyInterceptor.name, { parent: root });
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<Request & AuthenticatedRequest & RawBodyRequest>();
    if (request.method !== 'POST') return next.handle();
    const values = request.headersDistinct['idempotency-key'];
    if (values === undefined) return next.handle();
    const problem = idempotencyKeyProblem(values);
    if (problem !== null) {
      throw new ValidationFailedError([{ field: IDEMPOTENCY_HEADER, message: problem }]);
    }
    const key = values[0] ?? '';
    if (request.principal === undefined) return next.handle();
    const principal = principalName(request.principal);
    this.purgeNowAndThen();

    const fingerprint = requestFingerprint(request.method, request.originalUrl, request.rawBody);
    const claim = await this.store.claim(principal, key, fingerprint);
    const response = http.getResponse<Response>();
    switch (claim.kind) {
      case 'mismatch':
        throw new UnprocessableError(
          'IDEMPOTENCY_KEY_REUSED',
          IDEMPOTENCY_HEADER,
          'was used for another request (method, path or body differ) within 24 h',
        );
      case 'in-progress':
        throw new ConflictError(
          'IDEMPOTENCY_KEY_IN_USE',
          `${IDEMPOTENCY_HEADER}: the first request with this key is still running; retry later`,
        );
      case 'replay':
        response.status(claim.status);
        response.setHeader('Idempotent-Replayed', 'true');
        // Parsing the stored bytes and letting express serialise them again gives the same
        // bytes (JSON.stringify is a fixed point on its own output); the spec compares them.
        return from([JSON.parse(claim.body.toString('utf8')) as unknown]);
      case 'claimed':
        break;
    }
    return next.handle().pipe(
      concatMap(async (value: unknown) => {
        const body = Buffer.from(escapeJson(JSON.stringify(value) ?? 'null'), 'utf8');
        await this.store.complete(principal, key, response.statusCode, body);
        return value;
      }),
      catchError(async (error: unknown) => {
        await this.store.release(principal, key);
        throw error;
      }),
    );
  }

  private purgeNowAndThen(): void {
    const now = this.clock.now();
    if (now - this.lastPurgeMs < PURGE_EVERY_MS) return;
    this.lastPurgeMs = now;
    this.store.purge().then(
      (deleted) => {
        if (deleted > 0) this.logger.debug({ deleted }, 'expired idempotency keys purged');
      },
      (error: unknown) => this.logger.warn({ err: error }, 'idempotency key purge failed'),
    );
  }
}
