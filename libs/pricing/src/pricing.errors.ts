export type PricingErrorCode = 'PLAN_TIERS_INVALID' | 'PLAN_PRICE_INVALID' | 'PLAN_BASIS_INVALID';

/** A price plan that cannot be priced with; the code is stable, the message names the field. */
export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PricingError';
  }
}
