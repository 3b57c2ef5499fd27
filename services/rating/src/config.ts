import { z } from 'zod';
import {
  boolean,
  ConfigError,
  DATABASE_SETTINGS,
  type DatabaseConfig,
  databaseConfig,
  durationMs,
  type Env,
  fromLib,
  integer,
  listenHost,
  listenPort,
  type LogLevel,
  logLevel,
  nodeEnv,
  parseEnv,
  presentEnv,
} from '@metering/config';
import { type HostKeyLookup, TOPICS } from '@metering/contracts';
import {
  DEAD_LETTER_BOUNDS,
  KafkaConfigError,
  hostKeysFromEnv,
  kafkaConfigFromEnv,
  type KafkaConfig,
} from '@metering/kafka';
import { secretWeakness } from '@metering/observability';
import { isValidTimeZone } from '@metering/pricing';
import { MAX_INTERVAL_MS, type PlausibilityRules } from './domain/rate-sample';
import { MAX_HEAP_GROWTH_PERCENT } from './heap-growth';

/**
 * Every setting of the rating service, read from the environment once, at boot, and validated.
 * A missing or invalid setting stops the service with a message that names it.
 */
const Env = z.object({
  HOST: listenHost(),
  PORT: listenPort(9103),
  LOG_LEVEL: logLevel(),
  KAFKA_BROKERS: z.string().min(1).default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('rating'),
  RATING_GROUP_ID: z.string().min(1).default('rating'),
  SAMPLES_TOPIC: z.string().min(1).default(TOPICS.samples),
  SAMPLES_DLQ_TOPIC: z.string().min(1).default(TOPICS.samplesDlq),
  /**
   * Bytes of dead letters per produce request: a burst of invalid samples goes out in chunks of
   * at most this. Lowered at boot to fit the DLQ topic's max.message.bytes.
   */
  DLQ_MAX_REQUEST_BYTES: integer(DEAD_LETTER_BOUNDS.minRecordBytes, 64_000_000).default(
    DEAD_LETTER_BOUNDS.maxRequestBytes,
  ),
  /** Bytes of one dead letter: a larger sample keeps a prefix (with its length and SHA-256). */
  DLQ_MAX_RECORD_BYTES: integer(DEAD_LETTER_BOUNDS.minRecordBytes).optional(),
  /** Partitions created for the samples topic when it does not exist: the unit of scale-out. */
  SAMPLES_TOPIC_PARTITIONS: integer(1).default(6),
  /**
   * The ledger (libs/config): DATABASE_URL, _SCHEMA, _POOL_SIZE, MIGRATE_ON_START and the
   * owner's DATABASE_MIGRATION_URL, used only by the migration step at start, which grants the
   * role of DATABASE_URL its privileges (docs/operations.md, "Database roles").
   */
  ...DATABASE_SETTINGS,
  /**
   * The ledger's statements in transactions as named prepared statements: each connection parses
   * and plans one once (ADR 14, "Prepared statements"). false behind a pooler that does not keep
   * them per client (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
   */
  DATABASE_PREPARED_STATEMENTS: boolean().default(true),
  /** A silence between two samples of an instance longer than this is a gap, not usage. */
  MAX_GAP_MS: durationMs(1).default(300_000),
  /** Samples further ahead of this service's clock are rejected to the DLQ. */
  MAX_FUTURE_SKEW_MS: durationMs(1).default(300_000),
  /** The longest time one sample may account for; earlier usage is reported, not rated. */
  MAX_INTERVAL_MS: durationMs(1).default(MAX_INTERVAL_MS),
  /** A partition whose batches keep failing for this long makes /healthz report it. */
  PARTITION_STALL_MS: durationMs(1_000).default(120_000),
  /** Samples observed longer ago than this are rejected to the DLQ (90 days). */
  MAX_SAMPLE_AGE_MS: durationMs(1).default(90 * 86_400_000),
  /** CPU may exceed allocation × wall time by this factor (QEMU threads, CFS bursts). */
  PLAUSIBLE_CPU_SLACK: z.coerce.number().min(1).max(100).default(1.5),
  /** CPU milliseconds allowed above that in any interval (counter-read skew). */
  PLAUSIBLE_CPU_TOLERANCE_MS: durationMs(0).default(1_000),
  /** Cores of an unlimited resource whose sample does not carry its host's cores. */
  PLAUSIBLE_MAX_CORES: integer(1, 1_048_576).default(1_024),
  /** The largest memory reading believed (default 64 TiB). */
  PLAUSIBLE_MAX_MEMORY_BYTES: integer(1, Number.MAX_SAFE_INTEGER).default(2 ** 46),
  DEFAULT_TIME_ZONE: z.string().default('UTC'),
  /** Currency of the zero amounts of tenants not registered yet (registered ones have their own). */
  DEFAULT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code, e.g. EUR')
    .default('EUR'),
  /** How long tenants (zone, currency), plan versions and assignments may be cached. */
  TENANT_CATALOG_TTL_MS: durationMs(0).default(30_000),
  /** Buckets at a time when a month is priced again after a back-dated plan (memory bound). */
  REPRICE_PAGE_BUCKETS: integer(1).default(10_000),
  /**
   * The pricing stage's sweep (docs/adr/0014-rating-scale-out.md): how often it prices the tenant
   * months whose pieces are at least this old (charges lag quantities by about this much at most).
   */
  RATING_PRICING_INTERVAL_MS: durationMs(10, 600_000).default(1_000),
  /**
   * How long a tenant month a batch left behind the broker (a backlog) waits for its pricing pass:
   * charges lag quantities by up to this much more while rating catches up, for fewer passes (ADR
   * 14). 0: priced as soon as the batches of a caught-up rating are.
   */
  RATING_PRICING_BACKLOG_DELAY_MS: durationMs(0, 600_000).default(10_000),
  /** How often a partition stopped by offset continuity looks for an operator's decision. */
  OFFSET_DECISION_POLL_MS: durationMs(100, 600_000).default(5_000),
  USAGE_TOPIC: z.string().min(1).default(TOPICS.usage),
  USAGE_TOPIC_PARTITIONS: integer(1).default(6),
  /** Usage events are JSON of ~600 bytes that compress ~10×; gzip needs no extra codec. */
  USAGE_COMPRESSION: z.enum(['none', 'gzip']).default('gzip'),
  /**
   * Bytes of usage events per produce request, uncompressed. Default: 900 kB without compression
   * (a record batch stays under the broker's 1 MB), 4 MB with gzip (~10× smaller on the wire; a
   * batch the broker still refuses is sent again in halves).
   */
  USAGE_REQUEST_MAX_BYTES: integer(1_000, 64_000_000).optional(),
  /** Producers publishing usage events at once (each keeps its tenants' events in order). */
  USAGE_PRODUCERS: integer(1, 16).default(3),
  /**
   * One usage event per instance per window of this many seconds (windows aligned on the epoch,
   * dividing an hour); 0: one event per rated interval.
   */
  USAGE_WINDOW_SECONDS: integer(0, 3600)
    .refine((s) => s === 0 || 3600 % s === 0, 'must divide 3600 (or be 0)')
    .default(300),
  /** An open window of an instance without samples for this long is published as it is. */
  USAGE_WINDOW_IDLE_SECONDS: z.coerce.number().positive().default(120),
  /** How often idle windows and events left in the outbox (crash, Kafka outage) are published. */
  USAGE_OUTBOX_SWEEP_MS: durationMs(50).default(5_000),
  /** Which InfluxDB write API: v1 `/write` (1.x, and 2.x/3.x v1-compatible), v2 `/api/v2/write`, or off. */
  INFLUX_API: z.enum(['v1', 'v2', 'off']).default('v1'),
  INFLUX_URL: z.url().default('http://127.0.0.1:8086'),
  INFLUX_DATABASE: z.string().min(1).default('metering'),
  INFLUX_RETENTION_POLICY: z.string().min(1).optional(),
  INFLUX_USERNAME: z.string().min(1).optional(),
  INFLUX_PASSWORD: z.string().optional(),
  INFLUX_ORG: z.string().min(1).optional(),
  INFLUX_BUCKET: z.string().min(1).optional(),
  INFLUX_TOKEN: z.string().min(1).optional(),
  /** `production` turns on the secret rules (libs/observability secretWeakness) at boot. */
  NODE_ENV: nodeEnv(),
  INFLUX_BATCH_SIZE: integer(1).default(5_000),
  INFLUX_FLUSH_INTERVAL_MS: durationMs(10).default(1_000),
  /** Points kept in memory while InfluxDB is slow or down; the oldest go first (backfill repairs). */
  INFLUX_MAX_BUFFERED_POINTS: integer(1).default(100_000),
  INFLUX_TIMEOUT_MS: durationMs(100).default(10_000),
  INFLUX_RETRY_MAX_DELAY_MS: durationMs(10).default(30_000),
  /** Raw per-resource gauges (measurement `resource`), one point per sample. */
  INFLUX_RESOURCE_GAUGES: boolean().default(true),
  /** Upper bound of one partition's fetch (a batch gathers fetches up to the window's caps). */
  MAX_BYTES_PER_PARTITION: integer(1).default(4_194_304),
  /**
   * Upper bound of one fetch's response, all partitions together (default: one partition's,
   * MAX_BYTES_PER_PARTITION). A held message is a view of its response and keeps all of it alive,
   * so this bounds what the window's held partitions pin: one response each at most.
   */
  MAX_BYTES_PER_FETCH: integer(1).optional(),
  /**
   * The minimum batch window (docs/adr/0014-rating-scale-out.md, section 6): a partition's
   * admitted messages are gathered across fetches for this long (from the first one held; once the
   * partition is caught up, from its Kafka timestamp if that is earlier), then rated and committed
   * as one batch, so a caught-up rating writes the ledger per window, not per fetch. Usage reaches
   * the ledger up to this much later; the end of a backlog older than the window is not held.
   * 0: each fetch is rated at once.
   */
  RATING_BATCH_WINDOW_MS: durationMs(0, 600_000).default(5_000),
  /** A partition's gathered key and value bytes that end its window early (default: one fetch). */
  RATING_BATCH_WINDOW_MAX_BYTES: integer(1).optional(),
  /** A partition's gathered messages that end its window early. */
  RATING_BATCH_WINDOW_MAX_MESSAGES: integer(1).default(20_000),
  PARTITIONS_CONSUMED_CONCURRENTLY: integer(1).default(2),
  /**
   * How far V8 lets the old generation grow past what the last full collection kept, in percent
   * (heap-growth.ts): 100 lets it double, so full collections (which mark the whole heap) come
   * half as often, for ~15–25 MB more peak RSS. 0: V8's own factor (~1.3 under a 160 MB heap).
   */
  RATING_HEAP_GROWTH_PERCENT: integer(0, MAX_HEAP_GROWTH_PERCENT).default(100),
  /** A member that stops heartbeating (killed) loses its partitions after this long. */
  KAFKA_SESSION_TIMEOUT_MS: durationMs(6_000).default(30_000),
});

/** Injection token of the RatingConfig (AppModule.forRoot's value provider). */
export const RATING_CONFIG = Symbol('RATING_CONFIG');

export type RatingConfig = Readonly<{
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Brokers, client id, timeouts, TLS and SASL (libs/kafka kafkaConfigFromEnv). */
  kafka: KafkaConfig;
  groupId: string;
  samplesTopic: string;
  samplesDlqTopic: string;
  samplesTopicPartitions: number;
  /** Bounds of dead letters in bytes (libs/kafka DeadLetterPublisher). */
  deadLetters: { maxRequestBytes: number; maxRecordBytes: number };
  database: DatabaseConfig;
  /** Run the ledger migrations at start (false: `npm run ledger:migrate` ran them before). */
  migrateOnStart: boolean;
  /** DATABASE_PREPARED_STATEMENTS. */
  preparedStatements: boolean;
  maxGapMs: number;
  maxFutureSkewMs: number;
  maxIntervalMs: number;
  maxSampleAgeMs: number;
  /** Per-host sample keys (HOST_AUTH_KEYS_FILE, ADR 0010); null: HOST_AUTH is off. */
  hostKeys: HostKeyLookup | null;
  partitionStallMs: number;
  plausibility: PlausibilityRules;
  defaultTimeZone: string;
  defaultCurrency: string;
  tenantCatalogTtlMs: number;
  repricePageBuckets: number;
  pricingIntervalMs: number;
  pricingBacklogDelayMs: number;
  usage: {
    topic: string;
    partitions: number;
    compression: 'none' | 'gzip';
    requestMaxBytes: number;
    producers: number;
    windowMs: number;
    idleMs: number;
    sweepMs: number;
  };
  influx: InfluxConfig;
  maxBytesPerPartition: number;
  maxBytesPerFetch: number;
  /** RATING_HEAP_GROWTH_PERCENT: 0 leaves V8's heap growing factor as it is. */
  heapGrowthPercent: number;
  /** The minimum batch window and its caps (per partition); windowMs 0: none. */
  batchWindow: { windowMs: number; maxBytes: number; maxMessages: number };
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  offsetDecisionPollMs: number;
}>;

export type InfluxTarget =
  | {
      api: 'v1';
      url: string;
      database: string;
      retentionPolicy: string | null;
      username: string | null;
      password: string | null;
      token: string | null;
    }
  | { api: 'v2'; url: string; org: string; bucket: string; token: string };

export type InfluxConfig = Readonly<{
  /** null: the sink is off. */
  target: InfluxTarget | null;
  batchSize: number;
  flushIntervalMs: number;
  maxBufferedPoints: number;
  timeoutMs: number;
  retryMaxDelayMs: number;
  resourceGauges: boolean;
}>;

/** Thrown at boot for a missing or invalid setting; the message names the variable (libs/config). */
export { ConfigError };

const SERVICE = { service: 'rating' } as const;

/** The master key file `rating host-key` reads (HOST_AUTH_KEYS_FILE), or null when unset. */
export function hostAuthKeysFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const path = env.HOST_AUTH_KEYS_FILE?.trim() ?? '';
  return path === '' ? null : path;
}

export function loadRatingConfig(env: Env = process.env): RatingConfig {
  const present = presentEnv(env);
  const e = parseEnv(Env, present, SERVICE);
  const dlqRecordBytes = e.DLQ_MAX_RECORD_BYTES ?? e.DLQ_MAX_REQUEST_BYTES;
  if (dlqRecordBytes > e.DLQ_MAX_REQUEST_BYTES) {
    throw new ConfigError(
      'DLQ_MAX_RECORD_BYTES',
      `must not exceed DLQ_MAX_REQUEST_BYTES (${e.DLQ_MAX_REQUEST_BYTES})`,
      SERVICE,
    );
  }
  if (!isValidTimeZone(e.DEFAULT_TIME_ZONE)) {
    throw new ConfigError('DEFAULT_TIME_ZONE', `unknown zone "${e.DEFAULT_TIME_ZONE}"`, SERVICE);
  }
  const influx = influxTarget(e);
  const kafka = fromLib(
    () =>
      kafkaConfigFromEnv(
        { ...present, KAFKA_BROKERS: e.KAFKA_BROKERS, KAFKA_CLIENT_ID: e.KAFKA_CLIENT_ID },
        { clientId: 'rating' },
      ),
    [KafkaConfigError],
    SERVICE,
  );
  const hostKeys = fromLib(() => hostKeysFromEnv(present), [KafkaConfigError], SERVICE);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    kafka,
    groupId: e.RATING_GROUP_ID,
    samplesTopic: e.SAMPLES_TOPIC,
    samplesDlqTopic: e.SAMPLES_DLQ_TOPIC,
    samplesTopicPartitions: e.SAMPLES_TOPIC_PARTITIONS,
    deadLetters: { maxRequestBytes: e.DLQ_MAX_REQUEST_BYTES, maxRecordBytes: dlqRecordBytes },
    database: databaseConfig(e),
    migrateOnStart: e.MIGRATE_ON_START,
    preparedStatements: e.DATABASE_PREPARED_STATEMENTS,
    maxGapMs: e.MAX_GAP_MS,
    maxFutureSkewMs: e.MAX_FUTURE_SKEW_MS,
    maxIntervalMs: e.MAX_INTERVAL_MS,
    maxSampleAgeMs: e.MAX_SAMPLE_AGE_MS,
    hostKeys,
    partitionStallMs: e.PARTITION_STALL_MS,
    plausibility: {
      cpuSlackPermille: BigInt(Math.round(e.PLAUSIBLE_CPU_SLACK * 1000)),
      cpuToleranceNs: BigInt(e.PLAUSIBLE_CPU_TOLERANCE_MS) * 1_000_000n,
      maxCores: e.PLAUSIBLE_MAX_CORES,
      maxMemoryBytes: BigInt(e.PLAUSIBLE_MAX_MEMORY_BYTES),
    },
    defaultTimeZone: e.DEFAULT_TIME_ZONE,
    defaultCurrency: e.DEFAULT_CURRENCY,
    tenantCatalogTtlMs: e.TENANT_CATALOG_TTL_MS,
    repricePageBuckets: e.REPRICE_PAGE_BUCKETS,
    pricingIntervalMs: e.RATING_PRICING_INTERVAL_MS,
    pricingBacklogDelayMs: e.RATING_PRICING_BACKLOG_DELAY_MS,
    usage: {
      topic: e.USAGE_TOPIC,
      partitions: e.USAGE_TOPIC_PARTITIONS,
      compression: e.USAGE_COMPRESSION,
      requestMaxBytes:
        e.USAGE_REQUEST_MAX_BYTES ?? (e.USAGE_COMPRESSION === 'gzip' ? 4_000_000 : 900_000),
      producers: e.USAGE_PRODUCERS,
      windowMs: e.USAGE_WINDOW_SECONDS * 1000,
      idleMs: e.USAGE_WINDOW_IDLE_SECONDS * 1000,
      sweepMs: e.USAGE_OUTBOX_SWEEP_MS,
    },
    influx: {
      target: influx,
      batchSize: e.INFLUX_BATCH_SIZE,
      flushIntervalMs: e.INFLUX_FLUSH_INTERVAL_MS,
      maxBufferedPoints: e.INFLUX_MAX_BUFFERED_POINTS,
      timeoutMs: e.INFLUX_TIMEOUT_MS,
      retryMaxDelayMs: e.INFLUX_RETRY_MAX_DELAY_MS,
      resourceGauges: e.INFLUX_RESOURCE_GAUGES,
    },
    maxBytesPerPartition: e.MAX_BYTES_PER_PARTITION,
    maxBytesPerFetch: e.MAX_BYTES_PER_FETCH ?? e.MAX_BYTES_PER_PARTITION,
    heapGrowthPercent: e.RATING_HEAP_GROWTH_PERCENT,
    batchWindow: {
      windowMs: e.RATING_BATCH_WINDOW_MS,
      maxBytes: e.RATING_BATCH_WINDOW_MAX_BYTES ?? e.MAX_BYTES_PER_PARTITION,
      maxMessages: e.RATING_BATCH_WINDOW_MAX_MESSAGES,
    },
    partitionsConsumedConcurrently: e.PARTITIONS_CONSUMED_CONCURRENTLY,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    offsetDecisionPollMs: e.OFFSET_DECISION_POLL_MS,
  };
}

function influxTarget(e: z.infer<typeof Env>): InfluxTarget | null {
  if (e.NODE_ENV === 'production' && e.INFLUX_API !== 'off') {
    for (const [name, value] of [
      ['INFLUX_PASSWORD', e.INFLUX_PASSWORD],
      ['INFLUX_TOKEN', e.INFLUX_TOKEN],
    ] as const) {
      const weakness = value === undefined ? null : secretWeakness(value);
      if (weakness !== null) {
        throw new ConfigError(name, `refused with NODE_ENV=production: ${weakness}`, SERVICE);
      }
    }
  }
  const url = e.INFLUX_URL.replace(/\/+$/, '');
  switch (e.INFLUX_API) {
    case 'off':
      return null;
    case 'v1':
      return {
        api: 'v1',
        url,
        database: e.INFLUX_DATABASE,
        retentionPolicy: e.INFLUX_RETENTION_POLICY ?? null,
        username: e.INFLUX_USERNAME ?? null,
        password: e.INFLUX_PASSWORD ?? null,
        token: e.INFLUX_TOKEN ?? null,
      };
    case 'v2': {
      const { INFLUX_ORG: org, INFLUX_BUCKET: bucket, INFLUX_TOKEN: token } = e;
      if (org === undefined || bucket === undefined || token === undefined) {
        const missing = Object.entries({
          INFLUX_ORG: org,
          INFLUX_BUCKET: bucket,
          INFLUX_TOKEN: token,
        })
          .filter(([, v]) => v === undefined)
          .map(([k]) => k);
        throw new ConfigError(missing.join(', '), 'required when INFLUX_API=v2', SERVICE);
      }
      return { api: 'v2', url, org, bucket, token };
    }
  }
}
