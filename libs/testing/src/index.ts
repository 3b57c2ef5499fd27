export * from './wait-for';
export * from './unique-name';
export * from './local-infra';
export * from './second-kafka-broker';
export * from './sample-topic';
export * from './prng';
export * from './free-port';
