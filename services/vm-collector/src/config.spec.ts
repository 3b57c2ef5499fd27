import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config';

const minimal = { KAFKA_BROKERS: '127.0.0.1:9092', SPOOL_DIR: '/var/lib/metering/spool' };

function failsOn(env: Record<string, string>, setting: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.setting === setting &&
      error.message.startsWith(`${setting}: `),
    `expected a ConfigError naming ${setting}`,
  );
}

test('defaults: qemu:///system, 10 s samples, 1 s polls, 127.0.0.1:9102, rss memory', () => {
  const config = loadConfig(minimal);
  assert.deepEqual(config.libvirtUris, ['qemu:///system']);
  assert.equal(config.sampleIntervalMs, 10_000);
  assert.equal(config.pollIntervalMs, 1_000);
  assert.equal(config.watchReads, 'young');
  assert.equal(config.metadataRefreshMs, 60_000);
  assert.deepEqual(config.http, { host: '127.0.0.1', port: 9102 });
  assert.equal(config.memoryUsage, 'rss');
  assert.equal(config.defaultTenant, 'default');
  assert.equal(config.topic, 'metering.samples.v1');
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(config.kafka.clientId, 'vm-collector');
  assert.equal(config.spool.dir, '/var/lib/metering/spool');
  assert.equal(config.qemuRunDir, '/run/libvirt/qemu');
  assert.equal(config.procDir, '/proc');
  assert.equal(config.domainCpu, 'cgroup');
  assert.equal(config.cgroupRoot, '/sys/fs/cgroup');
});

test('a comma-separated URI list, trimmed and without duplicates', () => {
  const config = loadConfig({
    ...minimal,
    LIBVIRT_URIS: ' qemu:///system, test:///default ,qemu:///system,qemu+ssh://root@kvm-2/system',
  });
  assert.deepEqual(config.libvirtUris, [
    'qemu:///system',
    'test:///default',
    'qemu+ssh://root@kvm-2/system',
  ]);
});

test('empty values mean the default', () => {
  const config = loadConfig({ ...minimal, DEFAULT_TENANT: '', SAMPLE_INTERVAL_MS: ' ' });
  assert.equal(config.defaultTenant, 'default');
  assert.equal(config.sampleIntervalMs, 10_000);
});

test('fails fast naming the setting', () => {
  failsOn({ SPOOL_DIR: '/tmp/x' }, 'KAFKA_BROKERS');
  failsOn({ ...minimal, KAFKA_BROKERS: 'nohost' }, 'KAFKA_BROKERS');
  failsOn({ KAFKA_BROKERS: '127.0.0.1:9092' }, 'SPOOL_DIR');
  failsOn({ ...minimal, SPOOL_MAX_BYTES: 'lots' }, 'SPOOL_MAX_BYTES');
  failsOn({ ...minimal, LIBVIRT_URIS: 'system' }, 'LIBVIRT_URIS');
  failsOn({ ...minimal, LIBVIRT_URIS: ',' }, 'LIBVIRT_URIS');
  failsOn({ ...minimal, SAMPLE_INTERVAL_MS: '10s' }, 'SAMPLE_INTERVAL_MS');
  failsOn({ ...minimal, POLL_INTERVAL_MS: '20000' }, 'POLL_INTERVAL_MS');
  failsOn({ ...minimal, MEMORY_USAGE: 'pss' }, 'MEMORY_USAGE');
  failsOn({ ...minimal, DOMAIN_CPU: 'proc' }, 'DOMAIN_CPU');
  failsOn({ ...minimal, PORT: '70000' }, 'PORT');
  failsOn({ ...minimal, LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
});

test('Kafka TLS and SASL come through libs/kafka; errors name the variable, never the password', () => {
  const secure = loadConfig({
    ...minimal,
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
      () => loadConfig({ ...minimal, ...env }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === setting &&
        !error.message.includes('change-me'),
      setting,
    );
  }
});
