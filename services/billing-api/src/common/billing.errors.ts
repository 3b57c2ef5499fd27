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
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVOICE_NOT_FOUND'
  | 'CREDIT_NOTE_NOT_FOUND'
  | 'INVOICE_NOT_FINAL'
  | 'CREDIT_EXCEEDS_REMAINING'
  | 'NOTHING_TO_CREDIT'
  | 'DOCUMENT_INTEGRITY'
  | 'INTERNAL';

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export abstract class BillingError extends Error {
  abstract readonly code: BillingErrorCode;
  abstract readonly status: number;
  readonly field?: string;
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
      'PLAN_INVALID' | 'PLAN_CURRENCY_MISMATCH' | 'PERIOD_NOT_STARTED' | 'RANGE_INVALID',
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
  constructor() {
    super('a valid API key is required: Authorization: Bearer <key>');
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends BillingError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
  constructor() {
    super('this route needs the admin key');
    this.name = 'ForbiddenError';
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
      | 'INVOICE_NOT_FINAL'
      | 'CREDIT_EXCEEDS_REMAINING'
      | 'NOTHING_TO_CREDIT',
    message: string,
    override readonly field?: string,
  ) {
    super(message);
    this.name = 'ConflictError';
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
