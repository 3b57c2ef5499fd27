export * from './invoice.model';
export * from './plan-segments';
export * from './invoice-calculator';
export * from './canonical-json';
export * from './adjustment-calculator';
export * from './period-math';
export * from './resource-label';
