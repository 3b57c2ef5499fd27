import { hostname } from 'node:os';
import { z } from 'zod';
import {
  collectorSettings,
  ConfigError,
  durationMs,
  type Env,
  integer,
  list,
  listenHost,
  listenPort,
  type LogLevel,
  logLevel,
  parseEnv,
  presentEnv,
} from '@metering/config';
import { TOPICS } from '@metering/contracts';
import { type CollectorPublishingConfig, collectorPublishingFromEnv } from '@metering/spool';
import { MEMORY_USAGE_MODES, type MemoryUsageMode } from './sampling';

/** Thrown at boot for a missing or invalid setting; the message names the variable (libs/config). */
export { ConfigError };

/** WATCH_READS: what a poll between two samples reads of the domains it already knows. */
export const WATCH_READS = ['young', 'all'] as const;
export type WatchReads = (typeof WATCH_READS)[number];

/** DOMAIN_CPU: where a local domain's CPU time is read between two reads of its info. */
export const DOMAIN_CPU_SOURCES = ['cgroup', 'libvirt'] as const;
export type DomainCpuSource = (typeof DOMAIN_CPU_SOURCES)[number];

/** LIFECYCLE_WATCH: how starts and stops are noticed between two samples. */
export const LIFECYCLE_WATCHES = ['run-dir', 'poll'] as const;
export type LifecycleWatch = (typeof LIFECYCLE_WATCHES)[number];

/** The collector's settings; kafka, hostKey, spool and followedStateDir are libs/spool's CollectorPublishingConfig. */
export interface VmCollectorConfig extends CollectorPublishingConfig {
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
   * `run-dir` (default): on a local qemu:///system the QEMU driver's run directory
   * (qemuRunDir) is watched with inotify, and a change there triggers a poll; between samples
   * the collector polls only while a domain is young (WATCH_READS=young), a connection is
   * failing or the directory cannot be watched — else it sleeps until the next sample or change.
   * `poll`: a poll every pollIntervalMs, whatever happens.
   */
  lifecycleWatch: LifecycleWatch;
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
  /**
   * `cgroup` (default): a local domain's CPU time from its cgroup (held open, one pread a
   * sample), once it agreed with libvirt's figure, while the run directory is watched; its info
   * (state, vCPUs, balloon) from libvirt every metadataRefreshMs and after a change there.
   * `libvirt`: one info call per domain and sample.
   */
  domainCpu: DomainCpuSource;
  /** Where the host's cgroup hierarchies are mounted. */
  cgroupRoot: string;
  /** Where libvirt's QEMU driver keeps `<domain name>.pid` (qemu:///system). */
  qemuRunDir: string;
  /** The host's /proc (a containerised collector mounts it elsewhere, e.g. /host/proc). */
  procDir: string;
  /** Bound on each libvirt call, so a hung (remote) connection cannot stall the cycle. */
  libvirtTimeoutMs: number;
  /** Domains read at the same time per connection. */
  libvirtConcurrency: number;
  /** metering.samples.v1 unless overridden (tests use their own topic). */
  topic: string;
  http: {
    host: string;
    port: number;
  };
  logLevel: LogLevel;
  /** How long shutdown waits for spooled samples to reach Kafka. */
  shutdownFlushMs: number;
}

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
  ...collectorSettings(hostname()),
  SAMPLE_INTERVAL_MS: durationMs(100, 3_600_000).default(10_000),
  POLL_INTERVAL_MS: durationMs(50, 3_600_000).default(1_000),
  WATCH_READS: z.enum(WATCH_READS).default('young'),
  LIFECYCLE_WATCH: z.enum(LIFECYCLE_WATCHES).default('run-dir'),
  METADATA_REFRESH_MS: durationMs(1_000, 86_400_000).default(60_000),
  MEMORY_USAGE: z.enum(MEMORY_USAGE_MODES).default('rss'),
  DOMAIN_CPU: z.enum(DOMAIN_CPU_SOURCES).default('cgroup'),
  CGROUP_ROOT: z.string().trim().min(1).default('/sys/fs/cgroup'),
  LIBVIRT_QEMU_RUN_DIR: z.string().min(1).default('/run/libvirt/qemu'),
  LIBVIRT_TIMEOUT_MS: durationMs(100, 600_000).default(10_000),
  LIBVIRT_CONCURRENCY: integer(1, 256).default(8),
  SAMPLES_TOPIC: z.string().trim().min(1).default(TOPICS.samples),
  HTTP_HOST: listenHost(),
  PORT: listenPort(9102),
  LOG_LEVEL: logLevel(),
});

/** Injection token of the validated configuration. */
export const VM_COLLECTOR_CONFIG = Symbol('VM_COLLECTOR_CONFIG');

/**
 * Reads and validates the settings once, at boot. The only place that reads the environment;
 * throws ConfigError naming the bad variables (libs/config: blank is unset).
 */
export function loadConfig(env: Env = process.env): VmCollectorConfig {
  const present = presentEnv(env);
  const e = parseEnv(EnvSchema, present);
  const publishing = collectorPublishingFromEnv(present, { clientId: 'vm-collector' });
  if (e.POLL_INTERVAL_MS > e.SAMPLE_INTERVAL_MS) {
    throw new ConfigError(
      'POLL_INTERVAL_MS',
      `must not exceed SAMPLE_INTERVAL_MS (${e.SAMPLE_INTERVAL_MS})`,
    );
  }
  return {
    ...publishing,
    libvirtUris: e.LIBVIRT_URIS,
    hostName: e.HOST_NAME,
    defaultTenant: e.DEFAULT_TENANT,
    sampleIntervalMs: e.SAMPLE_INTERVAL_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    watchReads: e.WATCH_READS,
    lifecycleWatch: e.LIFECYCLE_WATCH,
    metadataRefreshMs: e.METADATA_REFRESH_MS,
    memoryUsage: e.MEMORY_USAGE,
    domainCpu: e.DOMAIN_CPU,
    cgroupRoot: e.CGROUP_ROOT,
    qemuRunDir: e.LIBVIRT_QEMU_RUN_DIR,
    procDir: e.HOST_PROC,
    libvirtTimeoutMs: e.LIBVIRT_TIMEOUT_MS,
    libvirtConcurrency: e.LIBVIRT_CONCURRENCY,
    topic: e.SAMPLES_TOPIC,
    http: { host: e.HTTP_HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    shutdownFlushMs: e.SHUTDOWN_FLUSH_MS,
  };
}
