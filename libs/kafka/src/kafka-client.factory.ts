import { readFile } from 'node:fs/promises';
import { Kafka, type KafkaConfig as KafkajsConfig, type SASLOptions } from 'kafkajs';
import { type Logger, type MetricsRegistry } from '@metering/observability';
import { DeadLetterPublisher, type DeadLetterPublisherOptions } from './dead-letter.publisher';
import { KafkaAdmin, type EnsureTopicsResult, type TopicSpec } from './kafka-admin';
import { resolveKafkaConfig, type KafkaConfig, type KafkaConfigInput } from './kafka.config';
import { readSecretLine, type KafkaSaslConfig, type KafkaTlsConfig } from './kafka-security.config';
import { KafkaConsumer, type KafkaConsumerOptions } from './kafka-consumer';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducer, type KafkaProducerOptions } from './kafka-producer';
import { kafkajsLogCreator, kafkajsLogLevel } from './kafkajs-log.adapter';
import { patchKafkajsRequestQueue } from './kafkajs-request-queue.patch';

export interface KafkaClientFactoryDeps {
  /** The service's root logger (no `context`); kafkajs's lines go through it too. */
  logger: Logger;
  /** Where the Kafka metrics are registered; without it they are not recorded. */
  metrics?: MetricsRegistry;
}

/**
 * One kafkajs client per service, configured once (brokers, timeouts, retries, logging),
 * from which producers, consumers, admin and the dead-letter publisher are made.
 */
export class KafkaClientFactory {
  readonly config: KafkaConfig;
  /** The underlying client, for what this library does not wrap. */
  readonly kafka: Kafka;
  readonly metrics: KafkaMetrics;
  private readonly logger: Logger;

  constructor(config: KafkaConfig | KafkaConfigInput, deps: KafkaClientFactoryDeps) {
    patchKafkajsRequestQueue(); // idle connections sleep (kafkajs-request-queue.patch.ts)
    this.config = resolveKafkaConfig(config);
    this.logger = deps.logger;
    this.metrics = new KafkaMetrics(deps.metrics);
    this.kafka = new Kafka({
      brokers: [...this.config.brokers],
      clientId: this.config.clientId,
      connectionTimeout: this.config.connectionTimeoutMs,
      requestTimeout: this.config.requestTimeoutMs,
      retry: {
        initialRetryTime: this.config.retry.initialRetryTimeMs,
        maxRetryTime: this.config.retry.maxRetryTimeMs,
        retries: this.config.retry.retries,
      },
      logLevel: kafkajsLogLevel(deps.logger),
      logCreator: kafkajsLogCreator(deps.logger),
      ...kafkajsSecurity(this.config.tls, this.config.sasl),
    });
  }

  /** Not connected yet: call connect(). */
  createProducer(options: KafkaProducerOptions = {}): KafkaProducer {
    return new KafkaProducer(this.kafka, options, this.deps());
  }

  /** Not started yet: call start(handler). */
  createConsumer(options: KafkaConsumerOptions): KafkaConsumer {
    return new KafkaConsumer(this.kafka, options, this.deps());
  }

  /** Not connected yet: call connect(). */
  createAdmin(): KafkaAdmin {
    return new KafkaAdmin(this.kafka.admin(), { logger: this.logger });
  }

  /** Publishes through `producer`, which the caller connects and disconnects. */
  createDeadLetterPublisher(
    producer: KafkaProducer,
    options: DeadLetterPublisherOptions,
  ): DeadLetterPublisher {
    return new DeadLetterPublisher(producer, options, this.deps());
  }

  /** Connects an admin client, ensures the topics exist and disconnects it. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const admin = this.createAdmin();
    await admin.connect();
    try {
      return await admin.ensureTopics(specs);
    } finally {
      await admin.disconnect();
    }
  }

  private deps(): { logger: Logger; metrics: KafkaMetrics } {
    return { logger: this.logger, metrics: this.metrics };
  }
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
