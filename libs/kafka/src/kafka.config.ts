import {
  kafkaSecurityFromEnv,
  validateKafkaSecurity,
  type KafkaSaslConfig,
  type KafkaTlsConfig,
  type SettingFileReader,
} from './kafka-security.config';
import { KafkaConfigError } from './kafka.errors';

/** kafkajs's retry knobs, in milliseconds, for requests to the brokers. */
export interface KafkaRetrySettings {
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
  /** Attempts after the first; kafkajs's consumer crashes and restarts after these. */
  retries: number;
}

export interface KafkaConfig {
  brokers: readonly string[];
  clientId: string;
  /** TCP connect timeout per broker. */
  connectionTimeoutMs: number;
  /** Time a broker has to answer one request. */
  requestTimeoutMs: number;
  retry: KafkaRetrySettings;
  /** null: plaintext. */
  tls: KafkaTlsConfig | null;
  /** null: no authentication. Holds the password: never log a KafkaConfig whole. */
  sasl: KafkaSaslConfig | null;
}

/** What callers write: only brokers and clientId are required. */
export interface KafkaConfigInput {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  /** Each unset (or undefined) one takes its default. */
  retry?: { [K in keyof KafkaRetrySettings]?: KafkaRetrySettings[K] | undefined };
  tls?: KafkaTlsConfig | null;
  sasl?: KafkaSaslConfig | null;
}

export const KAFKA_DEFAULTS = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retry: { initialRetryTimeMs: 300, maxRetryTimeMs: 30_000, retries: 8 },
} as const satisfies Omit<KafkaConfig, 'brokers' | 'clientId' | 'tls' | 'sasl'>;

/** host:port, where host is a name, an IPv4 address or a bracketed IPv6 address. */
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Applies defaults and checks every value; throws KafkaConfigError naming the setting. */
export function resolveKafkaConfig(input: KafkaConfigInput): KafkaConfig {
  if (input.brokers.length === 0) throw new KafkaConfigError('brokers', 'at least one broker');
  for (const broker of input.brokers) {
    const match = BROKER.exec(broker);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new KafkaConfigError('brokers', `"${broker}" is not host:port`);
    }
  }
  if (!/^[A-Za-z0-9._-]+$/.test(input.clientId)) {
    throw new KafkaConfigError('clientId', `"${input.clientId}" must be letters, digits, . _ -`);
  }
  const config: KafkaConfig = {
    brokers: [...input.brokers],
    clientId: input.clientId,
    connectionTimeoutMs: input.connectionTimeoutMs ?? KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeoutMs: input.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs,
    retry: {
      initialRetryTimeMs:
        input.retry?.initialRetryTimeMs ?? KAFKA_DEFAULTS.retry.initialRetryTimeMs,
      maxRetryTimeMs: input.retry?.maxRetryTimeMs ?? KAFKA_DEFAULTS.retry.maxRetryTimeMs,
      retries: input.retry?.retries ?? KAFKA_DEFAULTS.retry.retries,
    },
    tls: input.tls ?? null,
    sasl: input.sasl ?? null,
  };
  validateKafkaSecurity(config);
  positive('connectionTimeoutMs', config.connectionTimeoutMs);
  positive('requestTimeoutMs', config.requestTimeoutMs);
  positive('retry.initialRetryTimeMs', config.retry.initialRetryTimeMs);
  positive('retry.maxRetryTimeMs', config.retry.maxRetryTimeMs);
  if (!Number.isInteger(config.retry.retries) || config.retry.retries < 0) {
    throw new KafkaConfigError('retry.retries', 'must be a whole number ≥ 0');
  }
  return config;
}

/**
 * Reads the standard settings from an environment-like object. Services call it from their
 * config.ts with process.env, so this library never reads the environment itself.
 *
 * KAFKA_BROKERS (required, comma-separated host:port), KAFKA_CLIENT_ID (default: the
 * service's name), KAFKA_CONNECTION_TIMEOUT_MS, KAFKA_REQUEST_TIMEOUT_MS,
 * KAFKA_RETRY_INITIAL_MS, KAFKA_RETRY_MAX_MS, KAFKA_RETRIES, and the TLS and SASL settings
 * of kafkaSecurityFromEnv (files are read here, once, at boot).
 */
export function kafkaConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaults: { clientId: string },
  readFile?: SettingFileReader,
): KafkaConfig {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (brokers.length === 0) {
    throw new KafkaConfigError('KAFKA_BROKERS', 'required, e.g. 127.0.0.1:9092');
  }
  const security = kafkaSecurityFromEnv(env, readFile);
  try {
    return resolveKafkaConfig({
      ...security,
      brokers,
      clientId: env.KAFKA_CLIENT_ID ?? defaults.clientId,
      connectionTimeoutMs: integer(env, 'KAFKA_CONNECTION_TIMEOUT_MS'),
      requestTimeoutMs: integer(env, 'KAFKA_REQUEST_TIMEOUT_MS'),
      retry: {
        initialRetryTimeMs: integer(env, 'KAFKA_RETRY_INITIAL_MS'),
        maxRetryTimeMs: integer(env, 'KAFKA_RETRY_MAX_MS'),
        retries: integer(env, 'KAFKA_RETRIES'),
      },
    });
  } catch (error) {
    // Name the variable the operator sets, not the field inside the config object.
    if (error instanceof KafkaConfigError) {
      throw new KafkaConfigError(ENV_NAMES[error.setting] ?? error.setting, error.problem);
    }
    throw error;
  }
}

const ENV_NAMES: Readonly<Record<string, string>> = {
  brokers: 'KAFKA_BROKERS',
  tls: 'KAFKA_TLS',
  clientId: 'KAFKA_CLIENT_ID',
  connectionTimeoutMs: 'KAFKA_CONNECTION_TIMEOUT_MS',
  requestTimeoutMs: 'KAFKA_REQUEST_TIMEOUT_MS',
  'retry.initialRetryTimeMs': 'KAFKA_RETRY_INITIAL_MS',
  'retry.maxRetryTimeMs': 'KAFKA_RETRY_MAX_MS',
  'retry.retries': 'KAFKA_RETRIES',
};

function integer(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new KafkaConfigError(name, `"${raw}" is not a whole number`);
  return Number(raw);
}

function positive(setting: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new KafkaConfigError(setting, `must be a positive number, got ${value}`);
  }
}
