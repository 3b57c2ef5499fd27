import { readFile } from 'node:fs/promises';
import { Kafka, type KafkaConfig as KafkajsConfig, type SASLOptions } from 'kafkajs';
import { type Logger } from '@metering/observability/logging';
import { type KafkaConfig } from './kafka.config';
import { readSecretLine, type KafkaSaslConfig, type KafkaTlsConfig } from './kafka-security.config';
import { kafkajsLogCreator, kafkajsLogLevel } from './kafkajs-log.adapter';
import { patchKafkajsConnection } from './kafkajs-connection.patch';
import { patchKafkajsRequestQueue } from './kafkajs-request-queue.patch';

/**
 * The kafkajs client of a resolved config (brokers, timeouts, retries, TLS and SASL), its lines
 * logged through `logger`: what KafkaClientFactory wraps, and what the producer entry
 * (producer.ts) builds its producers on without the factory's consumer, admin and dead letters.
 */
export function kafkajsClient(config: KafkaConfig, logger: Logger): Kafka {
  patchKafkajsRequestQueue(); // idle connections sleep (kafkajs-request-queue.patch.ts)
  patchKafkajsConnection(); // a response is not kept by the bytes after it (kafkajs-connection.patch.ts)
  return new Kafka({
    brokers: [...config.brokers],
    clientId: config.clientId,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: {
      initialRetryTime: config.retry.initialRetryTimeMs,
      maxRetryTime: config.retry.maxRetryTimeMs,
      retries: config.retry.retries,
    },
    logLevel: kafkajsLogLevel(logger),
    logCreator: kafkajsLogCreator(logger),
    ...kafkajsSecurity(config.tls, config.sasl),
  });
}

/** kafkajs's `ssl` and `sasl` options; absent ones are left out (plaintext, anonymous). */
export function kafkajsSecurity(
  tls: KafkaTlsConfig | null,
  sasl: KafkaSaslConfig | null,
): Pick<KafkajsConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkajsConfig, 'ssl' | 'sasl'> = {};
  if (tls !== null) {
    options.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca === null ? {} : { ca: [tls.ca] }),
      ...(tls.cert === null ? {} : { cert: tls.cert }),
      ...(tls.key === null ? {} : { key: tls.key }),
      ...(tls.servername === null ? {} : { servername: tls.servername }),
    };
  }
  if (sasl !== null) options.sasl = kafkajsSasl(sasl);
  return options;
}

function kafkajsSasl(sasl: KafkaSaslConfig): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512': {
      const { mechanism, username, passwordFile } = sasl;
      if (passwordFile === undefined) return { mechanism, username, password: sasl.password };
      // kafkajs shares this object among all connections and reads `password` each time one
      // authenticates (SCRAM: twice per handshake), so a getter picks up a password rotated in
      // place: new connections use the new one, open ones stay authenticated. A file caught
      // unreadable (mid-edit without an atomic rename) keeps the last good password.
      let last = sasl.password;
      return {
        mechanism,
        username,
        get password(): string {
          last = readSecretLine(passwordFile) ?? last;
          return last;
        },
      };
    }
    case 'oauthbearer': {
      const { tokenFile } = sasl;
      return {
        mechanism: 'oauthbearer',
        // Re-read at every authentication: the token's issuer rotates the file in place.
        oauthBearerProvider: async () => ({
          value: (await readFile(tokenFile, 'utf8')).replace(/\r?\n$/, ''),
        }),
      };
    }
  }
}
