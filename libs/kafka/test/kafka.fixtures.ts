import { localInfra, uniqueName } from '@metering/testing';
import {
  createRootLogger,
  isLogLevel,
  MetricsRegistry,
  type Logger,
} from '@metering/observability';
import { KafkaClientFactory } from '../src/index';

/** Set TEST_LOG_LEVEL=debug to see kafkajs's and the clients' lines while debugging. */
const level = process.env.TEST_LOG_LEVEL;

function testLogger(): Logger {
  return createRootLogger({ level: isLogLevel(level) ? level : 'warn', serviceName: 'kafka-test' });
}

export interface TestKafka {
  factory: KafkaClientFactory;
  metrics: MetricsRegistry;
  topic: string;
  group: string;
}

/** A factory on the local broker plus a fresh topic and group name for one test. */
export function testKafka(name: string): TestKafka {
  const metrics = new MetricsRegistry({ serviceName: 'kafka_test', collectDefaultMetrics: false });
  const factory = new KafkaClientFactory(
    {
      brokers: localInfra.kafkaBrokers,
      clientId: uniqueName(`${name}_client`).replace(/_/g, '-'),
      // Fail fast when the broker is missing instead of retrying for minutes.
      retry: { initialRetryTimeMs: 100, maxRetryTimeMs: 2_000, retries: 5 },
    },
    { logger: testLogger(), metrics },
  );
  return {
    factory,
    metrics,
    topic: uniqueName(`${name}_topic`),
    group: uniqueName(`${name}_group`),
  };
}

/** Keys and values as text, for readable assertions. */
export function text(value: Buffer | null): string | null {
  return value === null ? null : value.toString('utf8');
}
