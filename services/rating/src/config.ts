import { z } from 'zod';
import { TOPICS } from '@metering/contracts';

/**
 * Every setting of the rating service, read from the environment once, at boot, and validated.
 * A missing or invalid setting stops the service with a message that names it.
 */
const Env = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(9103),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z.string().min(1).default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('rating'),
  RATING_GROUP_ID: z.string().min(1).default('rating'),
  SAMPLES_TOPIC: z.string().min(1).default(TOPICS.samples),
  SAMPLES_DLQ_TOPIC: z.string().min(1).default(TOPICS.samplesDlq),
  /** Partitions created for the samples topic when it does not exist: the unit of scale-out. */
  SAMPLES_TOPIC_PARTITIONS: z.coerce.number().int().min(1).default(6),
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/metering'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).default(10),
  /** A silence between two samples of an instance longer than this is a gap, not usage. */
  MAX_GAP_MS: z.coerce.number().int().positive().default(300_000),
  /** Samples further ahead of this service's clock are rejected to the DLQ. */
  MAX_FUTURE_SKEW_MS: z.coerce.number().int().positive().default(300_000),
  DEFAULT_TIME_ZONE: z.string().default('UTC'),
  TENANT_ZONE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  /** Upper bound of one partition's fetch, so of one batch. */
  MAX_BYTES_PER_PARTITION: z.coerce.number().int().positive().default(4_194_304),
  PARTITIONS_CONSUMED_CONCURRENTLY: z.coerce.number().int().min(1).default(2),
  /** A member that stops heartbeating (killed) loses its partitions after this long. */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
});

export type RatingConfig = Readonly<{
  host: string;
  port: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  kafka: { brokers: string[]; clientId: string };
  groupId: string;
  samplesTopic: string;
  samplesDlqTopic: string;
  samplesTopicPartitions: number;
  database: { url: string; schema: string; poolSize: number };
  maxGapMs: number;
  maxFutureSkewMs: number;
  defaultTimeZone: string;
  tenantZoneTtlMs: number;
  maxBytesPerPartition: number;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
}>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export function loadRatingConfig(env: NodeJS.ProcessEnv = process.env): RatingConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid rating configuration: ${problems}`);
  }
  const e = parsed.data;
  if (!isTimeZone(e.DEFAULT_TIME_ZONE)) {
    throw new ConfigError(
      `invalid rating configuration: DEFAULT_TIME_ZONE: unknown zone "${e.DEFAULT_TIME_ZONE}"`,
    );
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    kafka: {
      brokers: e.KAFKA_BROKERS.split(',').map((b) => b.trim()),
      clientId: e.KAFKA_CLIENT_ID,
    },
    groupId: e.RATING_GROUP_ID,
    samplesTopic: e.SAMPLES_TOPIC,
    samplesDlqTopic: e.SAMPLES_DLQ_TOPIC,
    samplesTopicPartitions: e.SAMPLES_TOPIC_PARTITIONS,
    database: { url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, poolSize: e.DATABASE_POOL_SIZE },
    maxGapMs: e.MAX_GAP_MS,
    maxFutureSkewMs: e.MAX_FUTURE_SKEW_MS,
    defaultTimeZone: e.DEFAULT_TIME_ZONE,
    tenantZoneTtlMs: e.TENANT_ZONE_TTL_MS,
    maxBytesPerPartition: e.MAX_BYTES_PER_PARTITION,
    partitionsConsumedConcurrently: e.PARTITIONS_CONSUMED_CONCURRENTLY,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
  };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
