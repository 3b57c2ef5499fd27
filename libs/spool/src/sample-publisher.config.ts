// The publishing settings both collectors read the same way, in their config.ts: KAFKA_* and
// HOST_AUTH_KEY_FILE (libs/kafka), SPOOL_* (SPOOL_DIR resolved), and the instances followed
// across restarts, kept beside the spool; a bad one is a ConfigError naming it (libs/config).
import { join, resolve } from 'node:path';
import { type Env, fromLib } from '@metering/config';
import {
  type HostKeyFileSetting,
  type KafkaConfig,
  KafkaConfigError,
  hostKeyFileFromEnv,
  kafkaConfigFromEnv,
} from '@metering/kafka';
import { type SpoolSettings, spoolSettingsFromEnv } from './spool.config';
import { SpoolConfigError } from './spool.errors';

export interface CollectorPublishingConfig {
  /** KAFKA_* settings of @metering/kafka (KAFKA_BROKERS required). */
  kafka: KafkaConfig;
  /** This host's sample key (HOST_AUTH_KEY_FILE, ADR 0010); null: samples go unsigned. */
  hostKey: HostKeyFileSetting | null;
  /** SPOOL_* settings (SPOOL_DIR required, made absolute). */
  spool: { dir: string; settings: SpoolSettings };
  /** The instances followed, kept across restarts: `<SPOOL_DIR>/followed`. */
  followedStateDir: string;
}

/**
 * Reads a collector's publishing settings from its environment (blank values already dropped:
 * libs/config's presentEnv), in this order: Kafka, the host key, the spool. Throws ConfigError.
 */
export function collectorPublishingFromEnv(
  env: Env,
  options: { clientId: string },
): CollectorPublishingConfig {
  const kafka = fromLib(
    () => kafkaConfigFromEnv(env, { clientId: options.clientId }),
    [KafkaConfigError],
  );
  const hostKey = fromLib(() => hostKeyFileFromEnv(env), [KafkaConfigError]);
  const spool = fromLib(() => spoolSettingsFromEnv(env), [SpoolConfigError]);
  const dir = resolve(spool.dir);
  return {
    kafka,
    hostKey,
    spool: { dir, settings: spool.settings },
    followedStateDir: join(dir, 'followed'),
  };
}
