export { freePort } from '@metering/testing';
export * from './query-clients';
export * from './service-pipeline';
