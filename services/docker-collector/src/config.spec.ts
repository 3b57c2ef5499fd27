import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { TOPICS } from '@metering/contracts';
import { ConfigError, loadConfig, residualTenantOf } from './config';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', SPOOL_DIR: 'spool-dir' };

describe('configuration', () => {
  test('defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.hostName, hostname());
    assert.equal(c.sampleIntervalMs, 10_000);
    assert.equal(c.youngReadIntervalMs, 200);
    assert.equal(c.tenantLabel, 'metering.tenant');
    assert.equal(c.defaultTenant, 'default');
    assert.equal(c.usageSource, 'auto');
    assert.equal(c.topic, TOPICS.samples);
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 9101 });
    assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(c.residualMetering, true);
    assert.ok(c.spool.dir.startsWith('/') && c.spool.dir.endsWith('/spool-dir'), 'absolute');
    assert.equal(c.spool.settings.maxBytes, 256 * 1024 * 1024);
    assert.equal(residualTenantOf(c.residualParentPattern, '/metering/acme'), 'acme');
    assert.equal(residualTenantOf(c.residualParentPattern, '/docker'), null);
  });

  test('settings are read and empty ones mean the default', () => {
    const c = loadConfig({
      ...base,
      SAMPLE_INTERVAL_MS: '1000',
      YOUNG_READ_INTERVAL_MS: '',
      USAGE_SOURCE: 'stats-api',
      TENANT_LABEL: 'com.example.owner',
      RESIDUAL_PARENT_PATTERN: '^/metering\\.slice/metering-([^/]+)\\.slice$',
    });
    assert.equal(c.sampleIntervalMs, 1000);
    assert.equal(c.youngReadIntervalMs, 200);
    assert.equal(c.usageSource, 'stats-api');
    assert.equal(c.residualMetering, false, 'no parent cgroups through the stats API');
    assert.equal(
      residualTenantOf(c.residualParentPattern, '/metering.slice/metering-acme.slice'),
      'acme',
    );
  });

  for (const [env, setting] of [
    [{ SPOOL_DIR: 'x' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092' }, 'SPOOL_DIR'],
    [{ SPOOL_MAX_BYTES: 'lots' }, 'SPOOL_MAX_BYTES'],
    [{ SAMPLE_INTERVAL_MS: 'ten' }, 'SAMPLE_INTERVAL_MS'],
    [{ SAMPLE_INTERVAL_MS: '50' }, 'SAMPLE_INTERVAL_MS'],
    [{ USAGE_SOURCE: 'guess' }, 'USAGE_SOURCE'],
    [{ RESIDUAL_METERING: 'maybe' }, 'RESIDUAL_METERING'],
    [{ RESIDUAL_PARENT_PATTERN: '^/metering/[^/]+$' }, 'RESIDUAL_PARENT_PATTERN'],
    [{ RESIDUAL_PARENT_PATTERN: '(' }, 'RESIDUAL_PARENT_PATTERN'],
    [{ SAMPLE_INTERVAL_MS: '1000', YOUNG_READ_INTERVAL_MS: '1000' }, 'YOUNG_READ_INTERVAL_MS'],
    [{ PORT: '70000' }, 'PORT'],
  ] as const) {
    test(`${JSON.stringify(env)} fails naming ${setting}`, () => {
      const withBrokers = ['KAFKA_BROKERS', 'SPOOL_DIR'].includes(setting)
        ? env
        : { ...base, ...env };
      assert.throws(
        () => loadConfig(withBrokers),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.setting === setting &&
          error.message.startsWith(setting),
      );
    });
  }
});

test('Kafka TLS and SASL come through libs/kafka; errors name the variable, never the password', () => {
  const secure = loadConfig({
    ...base,
    KAFKA_TLS: 'true',
    KAFKA_TLS_REJECT_UNAUTHORIZED: 'true',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'host-a',
    KAFKA_SASL_PASSWORD: 'Zq8Hn3Kd9Wp2Lm5Xr7Tb4Vc1Fy6Gs0Je',
    NODE_ENV: 'production',
    HOST_AUTH: 'off',
  });
  assert.equal(secure.kafka.tls?.rejectUnauthorized, true);
  assert.deepEqual(secure.kafka.sasl, {
    mechanism: 'scram-sha-512',
    username: 'host-a',
    password: 'Zq8Hn3Kd9Wp2Lm5Xr7Tb4Vc1Fy6Gs0Je',
  });
  for (const [env, setting] of [
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_MECHANISM',
    ],
    [{ KAFKA_TLS_CA_FILE: '/ca.pem' }, 'KAFKA_TLS_CA_FILE'],
    [{ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' }, 'KAFKA_TLS_CA_FILE'],
    [
      {
        NODE_ENV: 'production',
        HOST_AUTH: 'off',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'change-me',
      },
      'KAFKA_SASL_PASSWORD',
    ],
  ] as const) {
    assert.throws(
      () => loadConfig({ ...base, ...env }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === setting &&
        !error.message.includes('change-me'),
      setting,
    );
  }
});
