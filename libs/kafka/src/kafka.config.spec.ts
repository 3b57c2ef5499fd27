import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KAFKA_DEFAULTS, kafkaConfigFromEnv, resolveKafkaConfig } from './kafka.config';
import { KafkaConfigError } from './kafka.errors';

test('defaults fill what is not given', () => {
  const config = resolveKafkaConfig({ brokers: ['127.0.0.1:9092'], clientId: 'rating' });
  assert.deepEqual(config, {
    brokers: ['127.0.0.1:9092'],
    clientId: 'rating',
    connectionTimeoutMs: KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeoutMs: KAFKA_DEFAULTS.requestTimeoutMs,
    retry: { ...KAFKA_DEFAULTS.retry },
    tls: null,
    sasl: null,
  });
});

test('a partial retry setting keeps the other defaults', () => {
  const config = resolveKafkaConfig({ brokers: ['k:9092'], clientId: 'c', retry: { retries: 2 } });
  assert.deepEqual(config.retry, { ...KAFKA_DEFAULTS.retry, retries: 2 });
});

const invalid: {
  name: string;
  input: Parameters<typeof resolveKafkaConfig>[0];
  setting: string;
}[] = [
  { name: 'no brokers', input: { brokers: [], clientId: 'c' }, setting: 'brokers' },
  { name: 'broker without port', input: { brokers: ['kafka'], clientId: 'c' }, setting: 'brokers' },
  { name: 'port out of range', input: { brokers: ['k:70000'], clientId: 'c' }, setting: 'brokers' },
  {
    name: 'clientId with spaces',
    input: { brokers: ['k:1'], clientId: 'a b' },
    setting: 'clientId',
  },
  {
    name: 'zero timeout',
    input: { brokers: ['k:1'], clientId: 'c', connectionTimeoutMs: 0 },
    setting: 'connectionTimeoutMs',
  },
  {
    name: 'negative retries',
    input: { brokers: ['k:1'], clientId: 'c', retry: { retries: -1 } },
    setting: 'retry.retries',
  },
];

for (const { name, input, setting } of invalid) {
  test(`rejects ${name}, naming ${setting}`, () => {
    assert.throws(
      () => resolveKafkaConfig(input),
      (error: unknown) => error instanceof KafkaConfigError && error.setting === setting,
    );
  });
}

test('IPv6 brokers are accepted in brackets', () => {
  assert.deepEqual(resolveKafkaConfig({ brokers: ['[::1]:9092'], clientId: 'c' }).brokers, [
    '[::1]:9092',
  ]);
});

test('from the environment: brokers list, client id and numbers', () => {
  const config = kafkaConfigFromEnv(
    {
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      KAFKA_CONNECTION_TIMEOUT_MS: '1500',
      KAFKA_RETRIES: '3',
    },
    { clientId: 'docker-collector' },
  );
  assert.deepEqual(config.brokers, ['127.0.0.1:9092', '127.0.0.1:9093']);
  assert.equal(config.clientId, 'docker-collector');
  assert.equal(config.connectionTimeoutMs, 1500);
  assert.equal(config.retry.retries, 3);
});

test('environment errors name the variable to fix', () => {
  const check = (env: Record<string, string>, variable: string): void =>
    assert.throws(
      () => kafkaConfigFromEnv(env, { clientId: 'c' }),
      (error: unknown) =>
        error instanceof KafkaConfigError &&
        error.setting === variable &&
        error.message.startsWith(variable),
    );
  check({}, 'KAFKA_BROKERS');
  check({ KAFKA_BROKERS: 'nohost' }, 'KAFKA_BROKERS');
  check({ KAFKA_BROKERS: 'k:1', KAFKA_REQUEST_TIMEOUT_MS: '10s' }, 'KAFKA_REQUEST_TIMEOUT_MS');
  check({ KAFKA_BROKERS: 'k:1', KAFKA_REQUEST_TIMEOUT_MS: '0' }, 'KAFKA_REQUEST_TIMEOUT_MS');
});
