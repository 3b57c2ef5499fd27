import { BillingError } from '../common/billing.errors';

/** An endpoint that does not exist or that the caller may not see (the same answer). 404. */
export class WebhookNotFoundError extends BillingError {
  readonly status = 404;
  constructor(
    readonly code: 'WEBHOOK_ENDPOINT_NOT_FOUND' | 'WEBHOOK_DELIVERY_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookNotFoundError';
  }
}

/** The endpoint is disabled (redelivery refused until it is enabled again) or at its limit. 409. */
export class WebhookConflictError extends BillingError {
  readonly status = 409;
  constructor(
    readonly code:
      'WEBHOOK_ENDPOINT_DISABLED' | 'WEBHOOK_ENDPOINT_LIMIT' | 'WEBHOOKS_NOT_CONFIGURED',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookConflictError';
  }
}
