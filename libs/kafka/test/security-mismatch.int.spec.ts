import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootLogger } from '@metering/observability';
import { localInfra, uniqueName } from '@metering/testing';
import { KafkaClientFactory, kafkaConfigFromEnv } from '../src/index';

// The local broker's listener is plaintext and anonymous. A client configured for TLS or SASL
// must fail against it quickly and say so, not hang, and nothing it logs or throws may carry
// the SASL password. The anonymous listener refuses the SASL handshake before any SCRAM exchange;
// full exchanges (a wrong password too) run against the SASL_SSL listener in sasl-ssl-acl.int.spec.
const PASSWORD = 'Zq8-unique-sasl-password-7Hn3Kd9Wp2Lm5';
const BOUND_MS = 15_000;

function capture(): {
  lines: string[];
  factory: (env: Record<string, string>) => KafkaClientFactory;
} {
  const lines: string[] = [];
  const logger = createRootLogger({
    level: 'debug',
    serviceName: 'kafka-security-test',
    destination: { write: (line: string) => lines.push(line) },
  });
  return {
    lines,
    factory: (env) =>
      new KafkaClientFactory(
        kafkaConfigFromEnv(
          {
            KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
            KAFKA_CLIENT_ID: uniqueName('security-client').replace(/_/g, '-'),
            KAFKA_CONNECTION_TIMEOUT_MS: '2000',
            KAFKA_REQUEST_TIMEOUT_MS: '3000',
            KAFKA_RETRY_INITIAL_MS: '100',
            KAFKA_RETRY_MAX_MS: '500',
            KAFKA_RETRIES: '1',
            ...env,
          },
          { clientId: 'unused' },
        ),
        { logger },
      ),
  };
}

/** The error connect() ends with, and how long it took. */
async function failedConnect(factory: KafkaClientFactory): Promise<{ error: Error; ms: number }> {
  const admin = factory.createAdmin();
  const started = performance.now();
  try {
    await admin.connect();
  } catch (error) {
    assert.ok(error instanceof Error);
    return { error, ms: performance.now() - started };
  } finally {
    await admin.disconnect();
  }
  assert.fail('connected to the plaintext listener');
}

test('TLS against the plaintext listener fails fast with a connection error', async () => {
  const { factory } = capture();
  const { error, ms } = await failedConnect(factory({ KAFKA_TLS: 'true' }));
  assert.ok(ms < BOUND_MS, `took ${ms} ms`);
  assert.match(`${error.name}: ${error.message}`, /Connection|TLS|socket|SSL|closed|disconnected/i);
});

test('SCRAM against the anonymous listener fails; the password is in no log line or error', async () => {
  const { factory, lines } = capture();
  const { error, ms } = await failedConnect(
    factory({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'rating',
      KAFKA_SASL_PASSWORD: PASSWORD,
    }),
  );
  assert.ok(ms < BOUND_MS, `took ${ms} ms`);
  assert.match(`${error.name}: ${error.message}`, /SASL|mechanism|authentication/i);
  assert.ok(lines.length > 0, 'kafkajs logged the attempt at debug level');
  const everything = [...lines, error.message, error.stack ?? '', JSON.stringify(error)].join('\n');
  assert.ok(!everything.includes(PASSWORD), 'the password leaked');
  assert.ok(!everything.includes(PASSWORD.slice(0, 12)), 'part of the password leaked');
});
