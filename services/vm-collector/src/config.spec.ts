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
  assert.deepEqual(config.http, { host: '127.0.0.1', port: 9102 });
  assert.equal(config.memoryUsage, 'rss');
  assert.equal(config.defaultTenant, 'default');
  assert.equal(config.topic, 'metering.samples.v1');
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(config.kafka.clientId, 'vm-collector');
  assert.equal(config.spool.dir, '/var/lib/metering/spool');
  assert.equal(config.qemuRunDir, '/run/libvirt/qemu');
  assert.equal(config.procDir, '/proc');
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
  failsOn({ ...minimal, PORT: '70000' }, 'PORT');
  failsOn({ ...minimal, LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
});
