export * from './wait-for';
export * from './unique-name';
export * from './local-infra';
