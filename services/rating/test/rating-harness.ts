import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { type DataSource } from 'typeorm';
import { Decimal } from '@metering/money';
import { type SampleEvent, type UsageEvent, decodeUsage, encode } from '@metering/contracts';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { appPostgresUrl, ensureAppRole, localInfra, uniqueName, waitFor } from '@metering/testing';
import { type BucketUsage, addBuckets, byteSeconds, coreSeconds, rateBatch } from '../src/domain';
import { toMeteredSample } from '../src/consuming/sample.mapper';
import { readTopic } from './topic-reader';

const repoRoot = join(__dirname, '..', '..', '..', '..');
const serviceMain = join(__dirname, '..', 'src', 'main.js');
const cliMain = join(__dirname, '..', 'src', 'cli', 'rating.cli.js');
const logDir = join(process.env.STACK_DIR ?? join(repoRoot, '.stack'), 'logs', 'tests');

const MAX_GAP_MS = 300_000;

/** What a run of the rating CLI printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh topic, group, DLQ topic and ledger schema: one test's world. */
export class RatingWorld {
  readonly name = uniqueName('rating');
  readonly topic = `${this.name}.samples`;
  readonly dlqTopic = `${this.name}.dlq`;
  readonly usageTopic = `${this.name}.usage`;
  /** This world's InfluxDB database (created by the service's sink, dropped at tear-down). */
  readonly influxDatabase = this.name;
  /** Where this world's rating processes write points; a test may point it at its own influxd. */
  influxUrl: string = localInfra.influxUrl;
  readonly groupId = `${this.name}-group`;
  readonly schema = this.name;
  readonly kafka = new Kafka({
    clientId: 'rating-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  readonly ds: DataSource = createLedgerDataSource({
    url: localInfra.postgresUrl,
    schema: this.schema,
  });
  private readonly processes = new Set<ChildProcess>();

  async setUp(partitions: number, tenants: Record<string, string>): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: this.topic, numPartitions: partitions },
        { topic: this.dlqTopic, numPartitions: 1 },
        // The usage topic is created by the rating process itself (partitions, compression).
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    await this.ds.initialize();
    await migrateLedger(this.ds);
    await ensureAppRole();
    for (const [id, zone] of Object.entries(tenants)) {
      await this.ds.query(
        `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, $2, 'EUR')`,
        [id, zone],
      );
    }
  }

  async produce(values: readonly (Buffer | string)[], keyOf: (i: number) => string): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < values.length; i += 500) {
      await producer.send({
        topic: this.topic,
        messages: values.slice(i, i + 500).map((value, j) => ({ key: keyOf(i + j), value })),
      });
    }
    await producer.disconnect();
  }

  /** Starts `node services/rating/dist/src/main.js` as a real process on this world. */
  startRating(label: string, env: Record<string, string> = {}): ChildProcess {
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${this.name}-${label}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [serviceMain], {
      env: {
        ...process.env,
        PORT: '0',
        LOG_LEVEL: 'info',
        KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
        // The app role, as in production; the owner only for the migration step (it grants).
        DATABASE_URL: appPostgresUrl(),
        DATABASE_MIGRATION_URL: localInfra.postgresUrl,
        DATABASE_SCHEMA: this.schema,
        DATABASE_POOL_SIZE: '4',
        SAMPLES_TOPIC: this.topic,
        SAMPLES_DLQ_TOPIC: this.dlqTopic,
        USAGE_TOPIC: this.usageTopic,
        USAGE_TOPIC_PARTITIONS: '3',
        INFLUX_URL: this.influxUrl,
        INFLUX_DATABASE: this.influxDatabase,
        INFLUX_FLUSH_INTERVAL_MS: '200',
        // Open usage windows of instances that stopped go out after 1 s, not 2 minutes.
        USAGE_WINDOW_IDLE_SECONDS: '1',
        USAGE_OUTBOX_SWEEP_MS: '250',
        RATING_GROUP_ID: this.groupId,
        MAX_GAP_MS: String(MAX_GAP_MS),
        // The specs' streams are fixed dates (months and zones chosen with care): not "too old".
        MAX_SAMPLE_AGE_MS: String(20 * 365 * 86_400_000),
        // Small fetches: many batches, many chances for a kill to land mid-batch.
        MAX_BYTES_PER_PARTITION: '65536',
        // A killed member's partitions move on after 6 s (the broker's minimum), not 30 s.
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /** `npm run rating -- ...args` (the compiled CLI) with this world's topics, group and schema. */
  runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliMain, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
          KAFKA_CLIENT_ID: this.name,
          DATABASE_URL: appPostgresUrl(),
          DATABASE_MIGRATION_URL: localInfra.postgresUrl,
          DATABASE_SCHEMA: this.schema,
          SAMPLES_TOPIC: this.topic,
          SAMPLES_DLQ_TOPIC: this.dlqTopic,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`rating ${args.join(' ')}: still running after 120 s`));
      }, 120_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({
          code,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        });
      });
    });
  }

  async kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  async endOffsets(): Promise<Map<number, string>> {
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    await admin.disconnect();
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  async storedOffsets(): Promise<Map<number, string>> {
    const rows = await this.ds.query<{ partition: number; next_offset: string }[]>(
      `SELECT partition, next_offset::text FROM consumer_offset WHERE group_id = $1 AND topic = $2`,
      [this.groupId, this.topic],
    );
    return new Map(rows.map((r) => [r.partition, r.next_offset]));
  }

  /** Progress of the ledger: messages committed over messages on the topic. */
  async progress(): Promise<{ done: bigint; total: bigint }> {
    const [end, stored] = [await this.endOffsets(), await this.storedOffsets()];
    let done = 0n;
    let total = 0n;
    for (const [p, high] of end) {
      total += BigInt(high);
      const s = stored.get(p);
      done += s === undefined || s === '-1' ? 0n : BigInt(s);
    }
    return { done, total };
  }

  async waitForCatchUp(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const { done, total } = await this.progress();
        if (done !== total) return false;
        // And the pricing stage has priced everything rated (charges lag quantities).
        const rows = await this.ds.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM rating_unpriced_usage`,
        );
        return rows[0]?.n === 0;
      },
      {
        timeoutMs,
        intervalMs: 500,
        description: `the ledger of ${this.name} to catch up with the topic and be priced`,
      },
    );
  }

  /** The ledger as `tenant|resource|bucket → quantities`, read back from PostgreSQL. */
  async ledger(): Promise<Map<string, string[]>> {
    const rows = await this.ds.query<Record<string, string>[]>(
      `SELECT tenant_id, resource_id, (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
              cpu_usage_core_seconds::text AS c1, cpu_allocation_core_seconds::text AS c2,
              cpu_max_core_seconds::text AS c3, memory_usage_byte_seconds::text AS m1,
              memory_allocation_byte_seconds::text AS m2, memory_max_byte_seconds::text AS m3,
              observed_ms::text AS o, gap_ms::text AS g
       FROM usage_bucket`,
    );
    return new Map(
      rows.map((r) => [
        `${r.tenant_id}|${r.resource_id}|${r.start_ms}`,
        // Normalised through Decimal: 1.50 and 1.5 are the same amount.
        [r.c1, r.c2, r.c3, r.m1, r.m2, r.m3, r.o, r.g].map((v) =>
          new Decimal(v ?? 'NaN').toString(),
        ),
      ]),
    );
  }

  /** A price plan version and its assignment to tenants from `effectiveFrom` on. */
  async assignPlan(
    tenants: readonly string[],
    plan: {
      id: string;
      version: number;
      basis: 'usage' | 'allocation' | 'max';
      cpu: { upTo: string | null; unitPrice: string }[] | null;
      memory: { upTo: string | null; unitPrice: string }[] | null;
    },
    effectiveFrom: string,
  ): Promise<void> {
    await this.ds.query(
      `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
       VALUES ($1, $2, 'EUR', $3, $4::jsonb, $5::jsonb) ON CONFLICT DO NOTHING`,
      [
        plan.id,
        plan.version,
        plan.basis,
        plan.cpu === null ? null : JSON.stringify(plan.cpu),
        plan.memory === null ? null : JSON.stringify(plan.memory),
      ],
    );
    for (const tenant of tenants) {
      await this.ds.query(
        `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
         VALUES ($1, $2, $3, $4)`,
        [tenant, effectiveFrom, plan.id, plan.version],
      );
    }
  }

  /** The usage topic's partition count and compression, as the rating process created it. */
  async usageTopicSettings(): Promise<{ partitions: number; compression: string | undefined }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [this.usageTopic] });
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: this.usageTopic }],
      });
      return {
        partitions: metadata.topics[0]?.partitions.length ?? 0,
        compression: configs.resources[0]?.configEntries.find(
          (e) => e.configName === 'compression.type',
        )?.configValue,
      };
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Waits until every rated interval is in a published usage event: nothing left to price, no
   * open window left (the idle sweep publishes those of stopped instances) and nothing waiting in
   * the outbox.
   */
  async waitForUsagePublished(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const rows = await this.ds.query<{ n: number }[]>(
          `SELECT ((SELECT count(*) FROM usage_outbox) +
                   (SELECT count(*) FROM rating_unpriced_usage) +
                   (SELECT count(*) FROM rating_open_window))::int AS n`,
        );
        return rows[0]?.n === 0;
      },
      { timeoutMs, intervalMs: 100, description: 'every usage window published' },
    );
  }

  /** Every event on the usage topic, in partition order, up to the current end offsets. */
  async usageEvents(): Promise<UsageEvent[]> {
    return (await readTopic(this.kafka, this.usageTopic)).map((m) => {
      const decoded = decodeUsage(m.value);
      if (!decoded.ok) throw new Error(`invalid usage event: ${decoded.reason.message}`);
      return decoded.value;
    });
  }

  /** usage_bucket rows: totals and charges (usage_bucket_charge, 0 without) as exact decimals. */
  async bucketRows(): Promise<
    {
      tenant: string;
      resource: string;
      kind: string;
      startMs: number;
      cpu: Decimal;
      memoryByteSeconds: Decimal;
      cpuAllocation: Decimal;
      cpuMax: Decimal;
      memoryAllocation: Decimal;
      memoryMax: Decimal;
      amount: Decimal;
      observedMs: number;
      gapMs: number;
    }[]
  > {
    const rows = await this.ds.query<Record<string, string>[]>(
      `SELECT tenant_id, resource_id, resource_kind,
              (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
              cpu_usage_core_seconds::text AS c1, cpu_allocation_core_seconds::text AS c2,
              cpu_max_core_seconds::text AS c3, memory_usage_byte_seconds::text AS m1,
              memory_allocation_byte_seconds::text AS m2, memory_max_byte_seconds::text AS m3,
              coalesce(amount, 0)::text AS amount, observed_ms::text AS o, gap_ms::text AS g
       FROM usage_bucket LEFT JOIN usage_bucket_charge USING (tenant_id, resource_id, bucket_start)`,
    );
    return rows.map((r) => ({
      tenant: r.tenant_id!,
      resource: r.resource_id!,
      kind: r.resource_kind!,
      startMs: Number(r.start_ms),
      cpu: new Decimal(r.c1!),
      cpuAllocation: new Decimal(r.c2!),
      cpuMax: new Decimal(r.c3!),
      memoryByteSeconds: new Decimal(r.m1!),
      memoryAllocation: new Decimal(r.m2!),
      memoryMax: new Decimal(r.m3!),
      amount: new Decimal(r.amount!),
      observedMs: Number(r.o),
      gapMs: Number(r.g),
    }));
  }

  async tearDown(): Promise<void> {
    for (const child of this.processes) await this.kill(child, 'SIGKILL');
    if (this.ds.isInitialized) {
      await this.ds.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
      await this.ds.destroy();
    }
    const admin = this.kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: [this.topic, this.dlqTopic, this.usageTopic] })
      .catch(() => undefined);
    await admin.disconnect();
    await influxQuery(localInfra.influxUrl, `DROP DATABASE "${this.influxDatabase}"`).catch(
      () => undefined,
    );
  }
}

/** What the ledger must hold: the domain's own rating of the valid samples, in publish order. */
export function expectedLedger(
  samples: readonly SampleEvent[],
  zones: Record<string, string>,
): Map<string, string[]> {
  const r = rateBatch(
    samples.map(toMeteredSample),
    new Map(),
    { maxGapMs: MAX_GAP_MS },
    (t) => zones[t] ?? 'UTC',
  );
  const merged = new Map<string, BucketUsage>();
  for (const b of r.buckets.values()) {
    const key = `${b.tenantId}|${b.resourceId}|${b.bucketStartMs}`;
    const prev = merged.get(key);
    merged.set(key, prev === undefined ? b : addBuckets(prev, b));
  }
  return new Map(
    [...merged].map(([k, b]) => [
      k,
      [
        coreSeconds(b.cpuUsage),
        coreSeconds(b.cpuAllocation),
        coreSeconds(b.cpuMax),
        byteSeconds(b.memoryUsage),
        byteSeconds(b.memoryAllocation),
        byteSeconds(b.memoryMax),
        String(b.observedMs),
        String(b.gapMs),
      ].map((d) => new Decimal(d).toString()),
    ]),
  );
}

/** InfluxQL through /query (InfluxDB 1.x); the statement's error, if any, is thrown. */
export async function influxQuery(
  url: string,
  q: string,
  db?: string,
): Promise<{ columns: string[]; values: unknown[][] }[]> {
  const body = new URLSearchParams({ q, epoch: 'ms', ...(db === undefined ? {} : { db }) });
  const response = await fetch(`${url}/query`, { method: 'POST', body });
  const json = (await response.json()) as {
    results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[];
    error?: string;
  };
  const error = json.error ?? json.results?.find((r) => r.error !== undefined)?.error;
  if (!response.ok || error !== undefined)
    throw new Error(`InfluxQL ${q}: ${error ?? response.status}`);
  return json.results?.[0]?.series ?? [];
}

export const encodeAll = (samples: readonly SampleEvent[]): Buffer[] =>
  samples.map((s) => encode(s));
