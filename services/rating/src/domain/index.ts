export * from './metered-sample';
export * from './rate-sample';
export * from './rate-batch';
export * from './usage-bucket';
export * from './zone-offset';
export * from './price-plan';
export * from './pricing.errors';
export * from './sample-rules';
