import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  durationMs,
  type Env as Environment,
  fromLib,
  integer,
  parseEnv,
} from '@metering/config';
import { TOPICS } from '@metering/contracts';
import { secretWeakness } from '@metering/observability';
import { type KafkaConfig, KafkaConfigError, kafkaConfigFromEnv } from '@metering/kafka';

/** services/billing-api: this file runs as dist/src/automation.config.js. */
const SERVICE_DIR = resolve(__dirname, '../..');

const onOff = z.enum(['on', 'off']);
const ms = (min: number, max: number, fallback: number) => durationMs(min, max).default(fallback);
const SERVICE = { service: 'billing-api' } as const;

/**
 * The settings of billing automation (issue 16: invoice events, webhooks, the scheduled close),
 * read by config.ts with the rest, once, at boot.
 */
const Env = z.object({
  /** Unset: events stay in the outbox (the lag metrics grow) until a broker is configured. */
  KAFKA_BROKERS: z.string().optional(),
  EVENTS_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/)
    .default(TOPICS.invoices),
  EVENTS_TOPIC_PARTITIONS: integer(1, 1000).default(3),
  OUTBOX_RELAY_INTERVAL_MS: ms(10, 3_600_000, 1_000),
  OUTBOX_RELAY_BATCH: integer(1, 10_000).default(500),
  OUTBOX_PUBLISH_TIMEOUT_MS: ms(100, 600_000, 30_000),
  /** A high-entropy secret (openssl rand -base64 32); its SHA-256 encrypts webhook secrets at rest. */
  WEBHOOK_SECRET_KEY: z.string().optional(),
  WEBHOOK_SECRET_KEY_FILE: z
    .string()
    .min(1)
    .default(resolve(SERVICE_DIR, '../../.stack/webhook-secret-key')),
  WEBHOOK_REQUIRE_HTTPS: z.enum(['true', 'false']).optional(),
  /** Comma-separated CIDRs a webhook may reach although private, loopback or link-local. */
  WEBHOOK_ALLOWED_CIDRS: z.string().default(''),
  WEBHOOK_TIMEOUT_MS: ms(100, 60_000, 10_000),
  WEBHOOK_RETRY_BASE_MS: ms(1, 86_400_000, 30_000),
  WEBHOOK_RETRY_MAX_MS: ms(1, 86_400_000, 3_600_000),
  WEBHOOK_RETRY_WINDOW_MS: ms(1, 30 * 86_400_000, 86_400_000),
  WEBHOOK_POLL_MS: ms(10, 600_000, 1_000),
  WEBHOOK_CONCURRENCY: integer(1, 256).default(8),
  WEBHOOK_DISABLE_AFTER_MS: ms(0, 90 * 86_400_000, 3 * 86_400_000),
  WEBHOOK_DISABLE_AFTER_FAILURES: integer(1, 1_000_000).default(20),
  WEBHOOK_SECRET_OVERLAP_MS: ms(0, 7 * 86_400_000, 86_400_000),
  SCHEDULED_CLOSE: onOff.default('on'),
  SCHEDULED_CLOSE_INTERVAL_MS: ms(100, 86_400_000, 300_000),
  SCHEDULED_CLOSE_LOOKBACK_MONTHS: integer(1, 24).default(2),
  /** How often tenants' draft amounts are checked against their budget thresholds. */
  BUDGET_CHECK_INTERVAL_MS: ms(100, 86_400_000, 60_000),
  SCHEDULED_CLOSE_FROM: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'must be a month YYYY-MM' })
    .optional(),
});

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export interface AutomationConfig {
  /**
   * Whether this process runs the background work (outbox relay, webhook deliveries, scheduled
   * close, budget checks). The server does; one-off CLI commands do not.
   */
  readonly background: boolean;
  readonly events: {
    /** null: no broker configured, the relay does not run. */
    readonly kafka: KafkaConfig | null;
    readonly topic: string;
    readonly topicPartitions: number;
    readonly relayIntervalMs: number;
    readonly relayBatch: number;
    readonly publishTimeoutMs: number;
  };
  readonly webhooks: {
    /**
     * AES-256-GCM key for the secrets at rest; null in production without WEBHOOK_SECRET_KEY:
     * webhooks are then off (registering answers 409 WEBHOOKS_NOT_CONFIGURED).
     */
    readonly secretKey: Buffer | null;
    readonly requireHttps: boolean;
    readonly allowedCidrs: readonly Cidr[];
    readonly timeoutMs: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly retryWindowMs: number;
    readonly pollMs: number;
    readonly concurrency: number;
    readonly disableAfterMs: number;
    readonly disableAfterFailures: number;
    readonly secretOverlapMs: number;
  };
  readonly schedule: {
    readonly enabled: boolean;
    readonly intervalMs: number;
    readonly lookbackMonths: number;
    readonly fromPeriod: string | null;
  };
  readonly budget: {
    /** Between the end of one budget check and the start of the next. */
    readonly checkIntervalMs: number;
  };
}

export function loadAutomationConfig(env: Environment, production: boolean): AutomationConfig {
  const e = parseEnv(Env, env, SERVICE);
  const kafka: KafkaConfig | null =
    e.KAFKA_BROKERS !== undefined && e.KAFKA_BROKERS.trim() !== ''
      ? fromLib(
          () => kafkaConfigFromEnv(env, { clientId: 'billing-api' }),
          [KafkaConfigError],
          SERVICE,
        )
      : null;
  return {
    background: true,
    events: {
      kafka,
      topic: e.EVENTS_TOPIC,
      topicPartitions: e.EVENTS_TOPIC_PARTITIONS,
      relayIntervalMs: e.OUTBOX_RELAY_INTERVAL_MS,
      relayBatch: e.OUTBOX_RELAY_BATCH,
      publishTimeoutMs: e.OUTBOX_PUBLISH_TIMEOUT_MS,
    },
    webhooks: {
      secretKey: secretKeyOf(e.WEBHOOK_SECRET_KEY, resolve(e.WEBHOOK_SECRET_KEY_FILE), production),
      requireHttps:
        e.WEBHOOK_REQUIRE_HTTPS === undefined ? production : e.WEBHOOK_REQUIRE_HTTPS === 'true',
      allowedCidrs: parseCidrs(e.WEBHOOK_ALLOWED_CIDRS),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.WEBHOOK_RETRY_MAX_MS, e.WEBHOOK_RETRY_BASE_MS),
      retryWindowMs: e.WEBHOOK_RETRY_WINDOW_MS,
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      secretOverlapMs: e.WEBHOOK_SECRET_OVERLAP_MS,
    },
    schedule: {
      enabled: e.SCHEDULED_CLOSE === 'on',
      intervalMs: e.SCHEDULED_CLOSE_INTERVAL_MS,
      lookbackMonths: e.SCHEDULED_CLOSE_LOOKBACK_MONTHS,
      fromPeriod: e.SCHEDULED_CLOSE_FROM ?? null,
    },
    budget: { checkIntervalMs: e.BUDGET_CHECK_INTERVAL_MS },
  };
}

/** "127.0.0.1/32, ::1/128" → CIDRs; names the bad entry. */
export function parseCidrs(text: string): Cidr[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const [address = '', prefixText] = entry.split('/');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (family === 0 || !/^\d{1,3}$/.test(prefixText ?? `${max}`) || prefix > max) {
        throw new ConfigError(
          'WEBHOOK_ALLOWED_CIDRS',
          `"${entry}" is not an address/prefix such as 127.0.0.1/32`,
          SERVICE,
        );
      }
      return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' } as const;
    });
}

/**
 * The key that encrypts webhook secrets: SHA-256 of WEBHOOK_SECRET_KEY (in production refused
 * when weak or a placeholder, like the admin key), else of the file's content, generated there
 * (mode 600) outside production. In production without it webhooks are off: replicas must share
 * the key, and a generated one would make stored secrets unreadable on the other replicas.
 */
function secretKeyOf(value: string | undefined, path: string, production: boolean): Buffer | null {
  // Empty is unset (docker-compose passes ${WEBHOOK_SECRET_KEY:-}).
  if (value !== undefined && value !== '') {
    if (production) {
      const weakness = secretWeakness(value);
      if (weakness !== null) {
        throw new ConfigError(
          'WEBHOOK_SECRET_KEY',
          `refused with NODE_ENV=production: the key ${weakness}`,
          SERVICE,
        );
      }
    } else if (value.length < 16) {
      throw new ConfigError('WEBHOOK_SECRET_KEY', 'must be at least 16 characters', SERVICE);
    }
    return deriveKey(value);
  }
  if (!existsSync(path)) {
    if (production) return null;
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(
          'WEBHOOK_SECRET_KEY_FILE',
          `cannot write ${path}: ${(error as Error).message}`,
          SERVICE,
        );
      }
    }
  }
  chmodSync(path, 0o600);
  const text = readFileSync(path, 'utf8').trim();
  if (text.length < 16) {
    throw new ConfigError(
      'WEBHOOK_SECRET_KEY_FILE',
      `${path} holds no key of at least 16 characters`,
      SERVICE,
    );
  }
  return deriveKey(text);
}

/** The secret is high-entropy by requirement: one SHA-256 makes it the 32-byte AES key. */
function deriveKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
