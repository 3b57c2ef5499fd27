import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '@metering/config';
import { deriveHostKey, hostKeyLine } from '@metering/contracts';
import { collectorPublishingFromEnv } from './sample-publisher.config';
import { SPOOL_DEFAULTS } from './spool.config';

const minimal = { KAFKA_BROKERS: '127.0.0.1:9092', SPOOL_DIR: 'relative/spool' };

function failsOn(env: Record<string, string>, setting: string): void {
  assert.throws(
    () => collectorPublishingFromEnv(env, { clientId: 'test-collector' }),
    (error: unknown) => error instanceof ConfigError && error.setting === setting,
    `expected a ConfigError naming ${setting}`,
  );
}

test('Kafka with the collector as client, no host key, the spool made absolute, followed beside it', () => {
  const config = collectorPublishingFromEnv(minimal, { clientId: 'test-collector' });
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(config.kafka.clientId, 'test-collector');
  assert.equal(config.hostKey, null);
  assert.equal(config.spool.dir, resolve('relative/spool'));
  assert.deepEqual(config.spool.settings, SPOOL_DEFAULTS);
  assert.equal(config.followedStateDir, join(resolve('relative/spool'), 'followed'));
});

test('SPOOL_* and HOST_AUTH_KEY_FILE are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'publishing-config-'));
  try {
    const keyFile = join(dir, 'host.key');
    const key = { keyId: 'k1', key: deriveHostKey(Buffer.alloc(32, 7), 'host-a') };
    writeFileSync(keyFile, `${hostKeyLine(key)}\n`, { mode: 0o600 });
    const config = collectorPublishingFromEnv(
      { ...minimal, SPOOL_MAX_BYTES: '64MiB', HOST_AUTH_KEY_FILE: keyFile },
      { clientId: 'test-collector' },
    );
    assert.equal(config.spool.settings.maxBytes, 64 * 1024 * 1024);
    assert.deepEqual(config.hostKey, { path: keyFile, production: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad setting is a ConfigError naming it, Kafka first, then the host key, then the spool', () => {
  failsOn({ SPOOL_DIR: '/tmp/x' }, 'KAFKA_BROKERS');
  failsOn({ ...minimal, KAFKA_BROKERS: 'nohost' }, 'KAFKA_BROKERS');
  failsOn({ KAFKA_BROKERS: '127.0.0.1:9092' }, 'SPOOL_DIR');
  failsOn({ ...minimal, SPOOL_MAX_BYTES: 'lots' }, 'SPOOL_MAX_BYTES');
  failsOn({ ...minimal, HOST_AUTH_KEY_FILE: '/nonexistent/host.key' }, 'HOST_AUTH_KEY_FILE');
  failsOn({ SPOOL_MAX_BYTES: 'lots' }, 'KAFKA_BROKERS');
  failsOn(
    { KAFKA_BROKERS: '127.0.0.1:9092', HOST_AUTH_KEY_FILE: '/nonexistent' },
    'HOST_AUTH_KEY_FILE',
  );
});
