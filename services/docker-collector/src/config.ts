import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  boolean,
  collectorSettings,
  ConfigError,
  durationMs,
  type Env,
  integer,
  listenHost,
  listenPort,
  type LogLevel,
  logLevel,
  parseEnv,
  presentEnv,
} from '@metering/config';
import { TOPICS } from '@metering/contracts';
import { type CollectorPublishingConfig, collectorPublishingFromEnv } from '@metering/spool';

/** Thrown at boot for a missing or invalid setting; the message names the variable (libs/config). */
export { ConfigError };

/** Where usage is read: cgroup files, the Docker stats API, or per container what works. */
export const USAGE_SOURCES = ['auto', 'cgroup', 'stats-api'] as const;
export type UsageSource = (typeof USAGE_SOURCES)[number];

/** The collector's settings; kafka, hostKey, spool and followedStateDir are libs/spool's CollectorPublishingConfig. */
export interface DockerCollectorConfig extends CollectorPublishingConfig {
  /** `host` on every sample. */
  hostName: string;
  /** The host's cores, carried in every sample: the most an unlimited container can use. */
  hostCores: number;
  /** unix socket of the Docker engine. */
  dockerSocket: string;
  /** Label holding a container's tenant. */
  tenantLabel: string;
  /** Tenant of unlabelled containers (never dropped). */
  defaultTenant: string;
  /** A `running` sample of every container this often. */
  sampleIntervalMs: number;
  /** Young containers are read this often between samples (0: off). */
  youngReadIntervalMs: number;
  /** …while younger than this. */
  youngWindowMs: number;
  /** Full listing of running containers besides the event stream. */
  resyncIntervalMs: number;
  /** Limits are re-read every N cycles (and on `update` events). */
  limitsEveryCycles: number;
  /** Wait this long for `die` after a cgroup vanished before ending the container by inspect. */
  dieGraceMs: number;
  /** Containers inspected at the same time. */
  discoveryConcurrency: number;
  usageSource: UsageSource;
  /** Stats API requests at the same time (each costs the engine about a second). */
  statsApiConcurrency: number;
  /**
   * cgroup files kept open and re-read with pread (0: read by path each time). Each costs the
   * kernel ~4.5 KB and a descriptor; capped at a quarter of the soft open-files limit.
   */
  heldCgroupFiles: number;
  /** The host's /proc (a containerised collector mounts it elsewhere, e.g. /host/proc). */
  procDir: string;
  /** Meter the residual of parent cgroups whose path matches residualParentPattern. */
  residualMetering: boolean;
  /** Parent cgroup path → tenant: the first capture group is the tenant id. */
  residualParentPattern: RegExp;
  /** Where the residuals are kept across restarts: `<SPOOL_DIR>/residual`. */
  residualStateDir: string;
  /** metering.samples.v1 unless overridden (tests use their own topic). */
  topic: string;
  /** Partitions of the topic when the collector has to create it. */
  topicPartitions: number;
  http: { host: string; port: number };
  logLevel: LogLevel;
  /** How long shutdown keeps sending spooled samples to Kafka (the rest stays on disk). */
  shutdownFlushMs: number;
}

const EnvSchema = z.object({
  ...collectorSettings(hostname()),
  /** Default: the CPUs the kernel lists (/proc/cpuinfo), not this process's affinity. */
  HOST_CORES: integer(1, 65_536).default(Math.max(1, cpus().length)),
  DOCKER_SOCKET: z.string().trim().min(1).default('/var/run/docker.sock'),
  TENANT_LABEL: z.string().trim().min(1).default('metering.tenant'),
  SAMPLE_INTERVAL_MS: durationMs(100, 3_600_000).default(10_000),
  YOUNG_READ_INTERVAL_MS: durationMs(0, 60_000).default(200),
  YOUNG_WINDOW_MS: durationMs(0, 3_600_000).default(10_000),
  RESYNC_INTERVAL_MS: durationMs(0, 86_400_000).default(60_000),
  LIMITS_EVERY_CYCLES: integer(1, 10_000).default(6),
  DIE_GRACE_MS: durationMs(0, 600_000).default(5_000),
  DISCOVERY_CONCURRENCY: integer(1, 256).default(8),
  USAGE_SOURCE: z.enum(USAGE_SOURCES).default('auto'),
  STATS_API_CONCURRENCY: integer(1, 256).default(8),
  HELD_CGROUP_FILES: integer(0, 1_000_000).default(30_000),
  RESIDUAL_METERING: boolean().default(true),
  RESIDUAL_PARENT_PATTERN: z
    .string()
    .default('^/metering/([^/]+)$')
    .transform((source, ctx) => {
      try {
        const pattern = new RegExp(source);
        if (new RegExp(`${source}|`).exec('')?.length !== 2) {
          ctx.addIssue({ code: 'custom', message: 'needs exactly one capture group (the tenant)' });
          return z.NEVER;
        }
        return pattern;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not a regular expression: ${String(error)}` });
        return z.NEVER;
      }
    }),
  SAMPLES_TOPIC: z.string().trim().min(1).default(TOPICS.samples),
  SAMPLES_TOPIC_PARTITIONS: integer(1, 10_000).default(6),
  HTTP_HOST: listenHost(),
  PORT: listenPort(9101),
  LOG_LEVEL: logLevel(),
});

/** Injection token of the validated configuration. */
export const DOCKER_COLLECTOR_CONFIG = Symbol('DOCKER_COLLECTOR_CONFIG');

/**
 * Reads and validates the settings once, at boot. The only place that reads the environment;
 * throws ConfigError naming the bad variables (libs/config: blank is unset).
 */
export function loadConfig(env: Env = process.env): DockerCollectorConfig {
  const present = presentEnv(env);
  const e = parseEnv(EnvSchema, present);
  const publishing = collectorPublishingFromEnv(present, { clientId: 'docker-collector' });
  if (e.YOUNG_READ_INTERVAL_MS > 0 && e.YOUNG_READ_INTERVAL_MS >= e.SAMPLE_INTERVAL_MS) {
    throw new ConfigError(
      'YOUNG_READ_INTERVAL_MS',
      `must be below SAMPLE_INTERVAL_MS (${e.SAMPLE_INTERVAL_MS}), or 0 to switch young reads off`,
    );
  }
  return {
    ...publishing,
    hostName: e.HOST_NAME,
    hostCores: e.HOST_CORES,
    dockerSocket: e.DOCKER_SOCKET,
    tenantLabel: e.TENANT_LABEL,
    defaultTenant: e.DEFAULT_TENANT,
    sampleIntervalMs: e.SAMPLE_INTERVAL_MS,
    youngReadIntervalMs: e.YOUNG_READ_INTERVAL_MS,
    youngWindowMs: e.YOUNG_WINDOW_MS,
    resyncIntervalMs: e.RESYNC_INTERVAL_MS,
    limitsEveryCycles: e.LIMITS_EVERY_CYCLES,
    dieGraceMs: e.DIE_GRACE_MS,
    discoveryConcurrency: e.DISCOVERY_CONCURRENCY,
    usageSource: e.USAGE_SOURCE,
    statsApiConcurrency: e.STATS_API_CONCURRENCY,
    heldCgroupFiles: e.HELD_CGROUP_FILES,
    procDir: e.HOST_PROC,
    residualMetering: e.RESIDUAL_METERING && e.USAGE_SOURCE !== 'stats-api',
    residualParentPattern: e.RESIDUAL_PARENT_PATTERN,
    residualStateDir: join(publishing.spool.dir, 'residual'),
    topic: e.SAMPLES_TOPIC,
    topicPartitions: e.SAMPLES_TOPIC_PARTITIONS,
    http: { host: e.HTTP_HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    shutdownFlushMs: e.SHUTDOWN_FLUSH_MS,
  };
}

/** The tenant a parent cgroup path belongs to under the configured pattern, or null. */
export function residualTenantOf(pattern: RegExp, parentPath: string): string | null {
  const tenant = pattern.exec(parentPath)?.[1]?.trim();
  return tenant === undefined || tenant === '' ? null : tenant;
}
