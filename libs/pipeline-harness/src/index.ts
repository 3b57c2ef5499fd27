export * from './free-port';
export * from './query-clients';
export * from './service-pipeline';
