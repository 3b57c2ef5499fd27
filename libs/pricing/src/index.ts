export * from './price-plan';
export * from './pricing.errors';
export * from './billing-calendar';
export * from './completeness';
