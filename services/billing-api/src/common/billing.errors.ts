/**
 * Errors of billing-api. Each has a stable `code` (part of the API) and a `status` the one
 * exception filter maps to HTTP; `field` names the offending input where there is one.
 */
export type BillingErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_EXISTS'
  | 'PLAN_NOT_FOUND'
  | 'PLAN_CURRENCY_MISMATCH'
  | 'PLAN_INVALID'
  | 'API_KEY_NOT_FOUND'
  | 'PERIOD_INVALID'
  | 'PERIOD_NOT_STARTED'
  | 'PERIOD_NOT_CLOSABLE'
  | 'PERIOD_CLOSED'
  | 'RANGE_INVALID'
  | 'WEBHOOK_ENDPOINT_NOT_FOUND'
  | 'WEBHOOK_DELIVERY_NOT_FOUND'
  | 'WEBHOOK_ENDPOINT_DISABLED'
  | 'WEBHOOK_ENDPOINT_LIMIT'
  | 'WEBHOOKS_NOT_CONFIGURED'
  | 'BUDGET_THRESHOLD_NOT_FOUND'
  | 'BUDGET_THRESHOLD_EXISTS'
  | 'BUDGET_THRESHOLD_LIMIT'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_ACCEPTABLE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_IN_USE'
  | 'INVOICE_NOT_FOUND'
  | 'CREDIT_NOTE_NOT_FOUND'
  | 'INVOICE_NOT_FINAL'
  | 'CREDIT_EXCEEDS_REMAINING'
  | 'NOTHING_TO_CREDIT'
  | 'DOCUMENT_INTEGRITY'
  | 'CSRF_TOKEN_INVALID'
  | 'READ_ONLY_SESSION'
  | 'PORTAL_NOT_BUILT'
  | 'INTERNAL';

/** The RFC 9457 `title` of each code: the same for every occurrence, unlike `detail`. */
export const PROBLEM_TITLES: Readonly<Record<BillingErrorCode, string>> = {
  VALIDATION_FAILED: 'The request is invalid',
  UNAUTHENTICATED: 'A valid API key is required',
  FORBIDDEN: 'This route needs the admin key',
  TENANT_NOT_FOUND: 'No such tenant',
  TENANT_EXISTS: 'The tenant already exists',
  PLAN_NOT_FOUND: 'No such price plan',
  PLAN_CURRENCY_MISMATCH: 'The plan is priced in another currency',
  PLAN_INVALID: 'The price plan is not acceptable',
  API_KEY_NOT_FOUND: 'No such API key',
  PERIOD_INVALID: 'The period is invalid',
  PERIOD_NOT_STARTED: 'The period has not started',
  PERIOD_NOT_CLOSABLE: 'The period cannot be closed yet',
  PERIOD_CLOSED: 'The period is closed',
  RANGE_INVALID: 'The range is invalid',
  WEBHOOK_ENDPOINT_NOT_FOUND: 'No such webhook endpoint',
  WEBHOOK_DELIVERY_NOT_FOUND: 'No such webhook delivery',
  WEBHOOK_ENDPOINT_DISABLED: 'The webhook endpoint is disabled',
  WEBHOOK_ENDPOINT_LIMIT: 'Too many webhook endpoints',
  WEBHOOKS_NOT_CONFIGURED: 'Webhooks are not configured',
  BUDGET_THRESHOLD_NOT_FOUND: 'No such budget threshold',
  BUDGET_THRESHOLD_EXISTS: 'A budget threshold of this amount exists',
  BUDGET_THRESHOLD_LIMIT: 'Too many budget thresholds',
  INVOICE_NOT_FOUND: 'No such invoice',
  CREDIT_NOTE_NOT_FOUND: 'No such credit note',
  INVOICE_NOT_FINAL: 'The invoice is not final',
  CREDIT_EXCEEDS_REMAINING: 'The credit exceeds what remains creditable',
  NOTHING_TO_CREDIT: 'Nothing remains to credit',
  DOCUMENT_INTEGRITY: 'A stored document failed its integrity check',
  NOT_FOUND: 'Not found',
  RATE_LIMITED: 'Too many requests',
  PAYLOAD_TOO_LARGE: 'The body is too large',
  NOT_ACCEPTABLE: 'No acceptable representation',
  IDEMPOTENCY_KEY_REUSED: 'The idempotency key was used for another request',
  IDEMPOTENCY_KEY_IN_USE: 'A request with this idempotency key is still running',
  CSRF_TOKEN_INVALID: 'The X-CSRF-Token header does not match the session',
  READ_ONLY_SESSION: 'This portal session is read-only',
  PORTAL_NOT_BUILT: 'The portal web app has not been built',
  INTERNAL: 'Internal error',
};

/** RFC 9457 `type`: a tag URI (RFC 4151) per code; stable, not meant to be dereferenced. */
export function problemType(code: BillingErrorCode): string {
  return `tag:metering.billing-api,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export abstract class BillingError extends Error {
  abstract readonly code: BillingErrorCode;
  abstract readonly status: number;
  readonly field?: string | undefined;
  readonly problems?: readonly FieldProblem[];
}

/** The request is malformed: wrong type, missing field, bad format. 400. */
export class ValidationFailedError extends BillingError {
  readonly code = 'VALIDATION_FAILED';
  readonly status = 400;
  override readonly field: string;
  constructor(override readonly problems: readonly FieldProblem[]) {
    const first = problems[0] ?? { field: 'body', message: 'is invalid' };
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.field = first.field;
    this.name = 'ValidationFailedError';
  }
}

/** Well-formed but not acceptable (negative prices, tiers out of order, a period not yet begun). 422. */
export class UnprocessableError extends BillingError {
  readonly status = 422;
  constructor(
    readonly code:
      | 'PLAN_INVALID'
      | 'PLAN_CURRENCY_MISMATCH'
      | 'PERIOD_NOT_STARTED'
      | 'RANGE_INVALID'
      | 'IDEMPOTENCY_KEY_REUSED',
    override readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'UnprocessableError';
  }
}

export class UnauthenticatedError extends BillingError {
  readonly code = 'UNAUTHENTICATED';
  readonly status = 401;
  constructor(message = 'a valid API key is required: Authorization: Bearer <key>') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends BillingError {
  readonly status = 403;
  constructor(
    readonly code: 'FORBIDDEN' | 'CSRF_TOKEN_INVALID' | 'READ_ONLY_SESSION' = 'FORBIDDEN',
    message = 'this route needs the admin key',
    override readonly field?: string,
  ) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Too many attempts from one client (failed portal sign-ins); `Retry-After` says when. 429. */
export class RateLimitedError extends BillingError {
  readonly code = 'RATE_LIMITED';
  readonly status = 429;
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}

export class NotFoundError extends BillingError {
  readonly status = 404;
  constructor(
    readonly code:
      | 'TENANT_NOT_FOUND'
      | 'PLAN_NOT_FOUND'
      | 'API_KEY_NOT_FOUND'
      | 'INVOICE_NOT_FOUND'
      | 'CREDIT_NOTE_NOT_FOUND'
      | 'WEBHOOK_ENDPOINT_NOT_FOUND'
      | 'WEBHOOK_DELIVERY_NOT_FOUND'
      | 'BUDGET_THRESHOLD_NOT_FOUND'
      | 'PORTAL_NOT_BUILT'
      | 'NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends BillingError {
  readonly status = 409;
  constructor(
    readonly code:
      | 'TENANT_EXISTS'
      | 'PERIOD_NOT_CLOSABLE'
      | 'PERIOD_CLOSED'
      | 'IDEMPOTENCY_KEY_IN_USE'
      | 'INVOICE_NOT_FINAL'
      | 'CREDIT_EXCEEDS_REMAINING'
      | 'NOTHING_TO_CREDIT'
      | 'WEBHOOK_ENDPOINT_DISABLED'
      | 'WEBHOOK_ENDPOINT_LIMIT'
      | 'WEBHOOKS_NOT_CONFIGURED'
      | 'BUDGET_THRESHOLD_EXISTS'
      | 'BUDGET_THRESHOLD_LIMIT',
    message: string,
    override readonly field?: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** No representation the `Accept` header admits (and no `?format=` chose one). 406. */
export class NotAcceptableError extends BillingError {
  readonly code = 'NOT_ACCEPTABLE';
  readonly status = 406;
  override readonly field = 'Accept';
  constructor(available: readonly string[]) {
    super(`Accept: none of ${available.join(', ')} is acceptable; or choose with ?format=`);
    this.name = 'NotAcceptableError';
  }
}

/**
 * A stored final document does not match its recorded SHA-256: the bytes are never served. 500,
 * logged with the document number, counted in billing_api_document_integrity_failures_total.
 */
export class IntegrityError extends BillingError {
  readonly code = 'DOCUMENT_INTEGRITY';
  readonly status = 500;
  constructor(
    readonly documentNumber: string,
    what: string,
  ) {
    super(`stored ${what} of ${documentNumber} does not match its SHA-256; not served`);
    this.name = 'IntegrityError';
  }
}
