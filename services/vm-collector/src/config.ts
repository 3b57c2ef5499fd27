import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TOPICS } from '@metering/contracts';
import {
  type HostKeyFileSetting,
  type KafkaConfig,
  KafkaConfigError,
  hostKeyFileFromEnv,
  kafkaConfigFromEnv,
} from '@metering/kafka';
import { LOG_LEVELS, type LogLevel } from '@metering/observability';
import { SpoolConfigError, type SpoolSettings, spoolSettingsFromEnv } from '@metering/spool';
import { MEMORY_USAGE_MODES, type MemoryUsageMode } from './sampling';

/** WATCH_READS: what a poll between two samples reads of the domains it already knows. */
export const WATCH_READS = ['young', 'all'] as const;
export type WatchReads = (typeof WATCH_READS)[number];

export interface VmCollectorConfig {
  /** libvirt connection URIs, each read every poll; duplicates removed. */
  libvirtUris: readonly string[];
  /** `host` on every sample. */
  hostName: string;
  /** Tenant of domains without tenant metadata (never dropped). */
  defaultTenant: string;
  /** A `running` sample of every active domain this often. */
  sampleIntervalMs: number;
  /** The domain lists are read this often, so starts and stops are caught between samples. */
  pollIntervalMs: number;
  /**
   * What the polls between two samples read of the domains they already know: `young` (default)
   * only those first seen within the last sample interval, the rest answered from their last
   * reading (one call per connection a poll); `all` each one's state and CPU time (one call per
   * domain a poll), so a final sample's counter is at most a poll old rather than a sample.
   */
  watchReads: WatchReads;
  /**
   * A known domain's XML (its tenant, its flavour) is read again after this long. Reading it
   * makes libvirtd format the whole live XML (and ask QEMU for the balloon): with 20 domains at
   * every 10-s sample, ~0.7 CPU-s a minute of libvirtd. A new domain's is read at once.
   */
  metadataRefreshMs: number;
  /**
   * What memory.usageBytes is (README, "Memory"): `rss`, the host memory held by the
   * domain's QEMU process (local qemu:///system; elsewhere the balloon), or `balloon`, the
   * domain's current balloon memory.
   */
  memoryUsage: MemoryUsageMode;
  /** Where libvirt's QEMU driver keeps `<domain name>.pid` (qemu:///system). */
  qemuRunDir: string;
  /** The host's /proc (a containerised collector mounts it elsewhere, e.g. /host/proc). */
  procDir: string;
  /** Bound on each libvirt call, so a hung (remote) connection cannot stall the cycle. */
  libvirtTimeoutMs: number;
  /** Domains read at the same time per connection. */
  libvirtConcurrency: number;
  /** KAFKA_* settings of @metering/kafka (KAFKA_BROKERS required). */
  kafka: KafkaConfig;
  /** This host's sample key (HOST_AUTH_KEY_FILE, ADR 0010); null: samples go unsigned. */
  hostKey: HostKeyFileSetting | null;
  /** metering.samples.v1 unless overridden (tests use their own topic). */
  topic: string;
  /** SPOOL_* settings of @metering/spool (SPOOL_DIR required). */
  spool: {
    dir: string;
    settings: SpoolSettings;
  };
  /** The instances followed, kept across restarts: `<SPOOL_DIR>/followed`. */
  followedStateDir: string;
  http: {
    host: string;
    port: number;
  };
  logLevel: LogLevel;
  /** How long shutdown waits for spooled samples to reach Kafka. */
  shutdownFlushMs: number;
}

/** Thrown at boot for a missing or invalid setting; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const positiveInt = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

// A libvirt URI: driver[+transport]://[user@][host][:port]/[path][?params], e.g.
// qemu:///system, qemu+ssh://root@kvm-2/system, test:///default.
const LIBVIRT_URI = /^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/[^\s,]*\/[^\s,]*$/;

const EnvSchema = z.object({
  LIBVIRT_URIS: z
    .string()
    .default('qemu:///system')
    .transform(list)
    .pipe(
      z
        .array(z.string().regex(LIBVIRT_URI, 'each must be a libvirt URI such as qemu:///system'))
        .min(1, 'at least one libvirt URI, e.g. qemu:///system'),
    )
    .transform((uris) => [...new Set(uris)]),
  HOST_NAME: z.string().trim().min(1).default(hostname()),
  DEFAULT_TENANT: z.string().trim().min(1, 'must not be empty').default('default'),
  SAMPLE_INTERVAL_MS: positiveInt(100, 3_600_000).default(10_000),
  POLL_INTERVAL_MS: positiveInt(50, 3_600_000).default(1_000),
  WATCH_READS: z.enum(WATCH_READS).default('young'),
  METADATA_REFRESH_MS: positiveInt(1_000, 86_400_000).default(60_000),
  MEMORY_USAGE: z.enum(MEMORY_USAGE_MODES).default('rss'),
  LIBVIRT_QEMU_RUN_DIR: z.string().min(1).default('/run/libvirt/qemu'),
  HOST_PROC: z.string().min(1).default('/proc'),
  LIBVIRT_TIMEOUT_MS: positiveInt(100, 600_000).default(10_000),
  LIBVIRT_CONCURRENCY: positiveInt(1, 256).default(8),
  SAMPLES_TOPIC: z.string().trim().min(1).default(TOPICS.samples),
  HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: positiveInt(0, 65_535).default(9102),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SHUTDOWN_FLUSH_MS: positiveInt(0, 600_000).default(10_000),
});

/** Injection token of the validated configuration. */
export const VM_COLLECTOR_CONFIG = Symbol('VM_COLLECTOR_CONFIG');

/**
 * Reads and validates the settings once, at boot. The only place that reads the environment;
 * throws ConfigError naming the first bad variable.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): VmCollectorConfig {
  // Empty strings count as unset, so `FOO=` in an env file means "use the default".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const setting = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(setting, issue?.message ?? 'invalid');
  }
  const e = parsed.data;
  let kafka: KafkaConfig;
  let hostKey: HostKeyFileSetting | null;
  try {
    kafka = kafkaConfigFromEnv(present, { clientId: 'vm-collector' });
    hostKey = hostKeyFileFromEnv(present);
  } catch (error) {
    if (error instanceof KafkaConfigError) throw new ConfigError(error.setting, error.problem);
    throw error;
  }
  let spool: { dir: string; settings: SpoolSettings };
  try {
    spool = spoolSettingsFromEnv(present);
  } catch (error) {
    if (error instanceof SpoolConfigError) throw new ConfigError(error.setting, error.problem);
    throw error;
  }
  if (e.POLL_INTERVAL_MS > e.SAMPLE_INTERVAL_MS) {
    throw new ConfigError(
      'POLL_INTERVAL_MS',
      `must not exceed SAMPLE_INTERVAL_MS (${e.SAMPLE_INTERVAL_MS})`,
    );
  }
  return {
    libvirtUris: e.LIBVIRT_URIS,
    hostName: e.HOST_NAME,
    defaultTenant: e.DEFAULT_TENANT,
    sampleIntervalMs: e.SAMPLE_INTERVAL_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    watchReads: e.WATCH_READS,
    metadataRefreshMs: e.METADATA_REFRESH_MS,
    memoryUsage: e.MEMORY_USAGE,
    qemuRunDir: e.LIBVIRT_QEMU_RUN_DIR,
    procDir: e.HOST_PROC,
    libvirtTimeoutMs: e.LIBVIRT_TIMEOUT_MS,
    libvirtConcurrency: e.LIBVIRT_CONCURRENCY,
    kafka,
    hostKey,
    topic: e.SAMPLES_TOPIC,
    spool: { dir: resolve(spool.dir), settings: spool.settings },
    followedStateDir: join(resolve(spool.dir), 'followed'),
    http: { host: e.HTTP_HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    shutdownFlushMs: e.SHUTDOWN_FLUSH_MS,
  };
}
