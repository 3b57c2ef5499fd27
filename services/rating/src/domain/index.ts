export * from './metered-sample';
export * from './rate-sample';
export * from './rate-batch';
export * from './usage-bucket';
export * from './sample-rules';
