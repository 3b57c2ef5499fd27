import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  HOST_AUTH_HEADER,
  type HostKey,
  deriveHostKey,
  hostAuthHeader,
  hostKeyLine,
} from '@metering/contracts';
import { createLedgerDataSource } from '@metering/ledger';
import {
  appPostgresUrl,
  ensureAppRole,
  freePort,
  localInfra,
  uniqueName,
  waitFor,
} from '@metering/testing';
import { type InfluxSeries, influxQL } from './query-clients';

/** The repository root, from libs/pipeline-harness/dist/src. */
export const REPO_ROOT = resolve(__dirname, '../../../..');

export type ServiceName = 'billing-api' | 'rating' | 'docker-collector' | 'vm-collector';
type PortName = ServiceName | 'prometheus';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly buffer: Buffer;
}

export interface ApiCall {
  /** The bearer key: the admin key unless given; null sends none. */
  readonly key?: string | null;
  readonly body?: unknown;
}

/**
 * The real pipeline — billing-api, rating, docker-collector, vm-collector, as the compiled
 * services (`services/<name>/dist/src/main.js`) in child processes on free loopback ports —
 * isolated from everything else on the machine: its own Kafka topics and consumer group,
 * ledger schema and InfluxDB database, all named after `name`, and removed by stop().
 * Logs go to `.stack/logs/tests/<name>-<service>.log`.
 *
 * Each start* method passes the settings that wire the service into this pipeline; the caller
 * adds or overrides the rest (sample intervals, hosts, the test clock...).
 */
export class ServicePipeline {
  readonly name: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly usageTopic: string;
  readonly groupId: string;
  /** Ledger schema and InfluxDB database. */
  readonly schema: string;
  readonly influxDatabase: string;
  readonly adminKey = randomBytes(24).toString('hex');
  /**
   * Rating's master key (ADR 0010): this pipeline's rating checks every sample's host MAC, its
   * collectors sign with the key of the host they report as; `signed()` for samples a test
   * produces itself.
   */
  readonly hostAuthMaster = randomBytes(32);
  readonly ports: Record<PortName, number> = {
    'billing-api': 0,
    rating: 0,
    'docker-collector': 0,
    'vm-collector': 0,
    prometheus: 0,
  };
  readonly logDir: string;
  /** A folder of this pipeline's own (spools, Prometheus state), removed by stop(). */
  readonly tmp: string;
  private readonly kafka = new Kafka({
    clientId: 'pipeline-harness',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  /** Node options for the services started after it is set (a bench's `--prof`...). */
  nodeArgs: readonly string[] = [];
  private readonly children = new Map<ServiceName, ChildProcess>();
  private topicsCreated = false;
  private prometheusStarted = false;
  private portsAllocated = false;
  private ledger: Promise<ReturnType<typeof createLedgerDataSource>> | undefined;

  constructor(prefix: string) {
    this.name = uniqueName(prefix);
    this.topic = `${this.name}.samples`;
    this.dlqTopic = `${this.name}.dlq`;
    this.usageTopic = `${this.name}.usage`;
    this.groupId = `${this.name}-group`;
    this.schema = this.name;
    this.influxDatabase = this.name;
    this.logDir = join(process.env.STACK_DIR ?? join(REPO_ROOT, '.stack'), 'logs', 'tests');
    this.tmp = mkdtempSync(join(tmpdir(), `${prefix}-pipeline-`));
  }

  url(service: PortName): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  get billingUrl(): string {
    return this.url('billing-api');
  }

  get prometheusUrl(): string {
    return this.url('prometheus');
  }

  logFile(service: ServiceName): string {
    return join(this.logDir, `${this.name}-${service}.log`);
  }

  /** Free loopback ports for every service (once), and the samples, DLQ and usage topics. */
  async prepare(samplePartitions = 3): Promise<void> {
    if (!this.portsAllocated) {
      for (const key of Object.keys(this.ports) as PortName[]) this.ports[key] = await freePort();
      this.portsAllocated = true;
    }
    if (this.topicsCreated) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: this.topic, numPartitions: samplePartitions },
          { topic: this.dlqTopic, numPartitions: 1 },
          { topic: this.usageTopic, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      this.topicsCreated = true;
    } finally {
      await admin.disconnect();
    }
  }

  /** The billing API with this pipeline's admin key; it migrates the ledger schema. */
  startBillingApi(env: Record<string, string> = {}): Promise<void> {
    return this.startService('billing-api', { ADMIN_API_KEY: this.adminKey, ...env });
  }

  /** Rating on this pipeline's topics, group, schema and InfluxDB database (fast flushes). */
  startRating(env: Record<string, string> = {}): Promise<void> {
    return this.startService('rating', {
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      SAMPLES_TOPIC: this.topic,
      SAMPLES_DLQ_TOPIC: this.dlqTopic,
      USAGE_TOPIC: this.usageTopic,
      RATING_GROUP_ID: this.groupId,
      INFLUX_URL: localInfra.influxUrl,
      INFLUX_DATABASE: this.influxDatabase,
      INFLUX_FLUSH_INTERVAL_MS: '200',
      TENANT_CATALOG_TTL_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      DATABASE_POOL_SIZE: '4',
      HOST_AUTH_KEYS_FILE: this.secretFile(
        'host-auth-masters',
        hostKeyLine({ keyId: 'k1', key: this.hostAuthMaster }),
      ),
      ...env,
    });
  }

  /**
   * Messages as a collector of the host their sample names would send them (ADR 0010); a value
   * that names no host (not a sample at all) goes without a MAC, as any such record would.
   */
  signed(messages: readonly { key: string | Buffer; value: Buffer }[]): {
    key: Buffer;
    value: Buffer;
    headers?: Record<string, string>;
  }[] {
    return messages.map(({ key, value }) => {
      const k = Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
      const host = hostOf(value);
      if (host === null) return { key: k, value };
      return {
        key: k,
        value,
        headers: { [HOST_AUTH_HEADER]: hostAuthHeader(this.hostKey(host), k, value) },
      };
    });
  }

  private hostKey(host: string): HostKey {
    return { keyId: 'k1', key: deriveHostKey(this.hostAuthMaster, host) };
  }

  /** A secret in this pipeline's folder, readable by its owner only. */
  private secretFile(name: string, line: string): string {
    const path = join(this.tmp, name);
    writeFileSync(path, `${line}\n`, { mode: 0o600 });
    return path;
  }

  /** The Docker collector publishing to this pipeline's samples topic, spooling in tmp. */
  startDockerCollector(env: Record<string, string> = {}): Promise<void> {
    return this.startService('docker-collector', {
      ...this.collectorEnv('docker', env.HOST_NAME),
      DOCKER_SOCKET: localInfra.dockerSocket,
      ...env,
    });
  }

  /** The VM collector (qemu:///system unless LIBVIRT_URIS says otherwise). */
  startVmCollector(env: Record<string, string> = {}): Promise<void> {
    return this.startService('vm-collector', {
      ...this.collectorEnv('vm', env.HOST_NAME),
      LIBVIRT_URIS: localInfra.libvirtUri,
      ...env,
    });
  }

  private collectorEnv(kind: string, host: string | undefined): Record<string, string> {
    const name = host ?? hostname();
    return {
      HOST_AUTH_KEY_FILE: this.secretFile(`host-${kind}.key`, hostKeyLine(this.hostKey(name))),
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      SAMPLES_TOPIC: this.topic,
      SPOOL_DIR: join(this.tmp, `spool-${kind}`),
      SHUTDOWN_FLUSH_MS: '1000',
    };
  }

  /** Starts a compiled service and returns once its /healthz answers 200. */
  async startService(name: ServiceName, env: Record<string, string>): Promise<void> {
    if (this.ports[name] === 0) throw new Error('ServicePipeline: call prepare() first');
    const dir = join(REPO_ROOT, 'services', name);
    const main = join(dir, 'dist', 'src', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b)`);
    mkdirSync(this.logDir, { recursive: true });
    const logFile = this.logFile(name);
    await ensureAppRole();
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', ...this.nodeArgs, main], {
      cwd: dir,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        HTTP_HOST: '127.0.0.1',
        PORT: String(this.ports[name]),
        LOG_LEVEL: 'info',
        // The app role, as in production; the owner only for the migration step (it grants).
        DATABASE_URL: appPostgresUrl(),
        DATABASE_MIGRATION_URL: localInfra.postgresUrl,
        DATABASE_SCHEMA: this.schema,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.children.set(name, child);
    const url = `${this.url(name)}/healthz`;
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
          throw new Error(
            `${name} exited (${child.exitCode ?? child.signalCode}); ${logFile}:\n${tail}`,
          );
        }
        const response = await fetch(url);
        return response.ok;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        description: `${name} healthy at ${url} (log ${logFile})`,
      },
    ).catch((error: unknown) => {
      // An early exit is the real cause; say it rather than "timed out".
      if (child.exitCode !== null)
        throw new Error(`${name} did not start; see ${logFile}`, { cause: error });
      throw error;
    });
  }

  /** The process id of a started service, or undefined. */
  pid(name: ServiceName): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** SIGTERM (SIGKILL after 15 s); resolves once the process is gone. */
  async stopService(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined) return;
    await stopChild(child);
    this.children.delete(name);
  }

  /** This pipeline's own Prometheus (infra/local/prometheus.sh) scraping the started services. */
  startPrometheus(scrapeInterval = '1s'): void {
    const targets = [...this.children.keys()].map((s) => `${s}=127.0.0.1:${this.ports[s]}`);
    this.prometheusStarted = true;
    this.prometheus('start', {
      PROMETHEUS_TARGETS: targets.join(','),
      PROMETHEUS_SCRAPE_INTERVAL: scrapeInterval,
    });
  }

  private prometheus(action: 'start' | 'stop', env: Record<string, string> = {}): void {
    const r = spawnSync('bash', [join(REPO_ROOT, 'infra', 'local', 'prometheus.sh'), action], {
      env: {
        ...process.env,
        STACK_DIR: join(this.tmp, 'stack'),
        PROMETHEUS_PORT: String(this.ports.prometheus),
        READY_TIMEOUT: '60',
        ...env,
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      throw new Error(`prometheus.sh ${action} failed (${r.status}): ${r.stderr} ${r.stdout}`);
    }
  }

  /** A billing API call; the answer whatever its status. */
  async request(method: string, path: string, call: ApiCall = {}): Promise<ApiAnswer> {
    const key = call.key === undefined ? this.adminKey : call.key;
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.billingUrl}${path}`, {
      method,
      headers,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    });
    const buffer = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: response.headers,
      text: buffer.toString('utf8'),
      buffer,
    };
  }

  /** A billing API call that must succeed (2xx); the parsed JSON body. */
  async api<T>(method: string, path: string, call: ApiCall = {}): Promise<T> {
    const answer = await this.request(method, path, call);
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
    }
    return JSON.parse(answer.text) as T;
  }

  /** A service's /metrics text. */
  async metrics(service: ServiceName): Promise<string> {
    const response = await fetch(`${this.url(service)}/metrics`);
    if (!response.ok) throw new Error(`${service} /metrics: ${response.status}`);
    return response.text();
  }

  /** InfluxQL over this pipeline's database. */
  influxQL(q: string): Promise<InfluxSeries[]> {
    return influxQL(localInfra.influxUrl, this.influxDatabase, q);
  }

  /** SQL over this pipeline's ledger schema (one small pool, closed by stop()). */
  async sql<T>(query: string, parameters: unknown[] = []): Promise<T[]> {
    if (this.ledger === undefined) {
      const ds = createLedgerDataSource({
        url: localInfra.postgresUrl,
        schema: this.schema,
        poolSize: 2,
        applicationName: `${this.name}-harness`,
      });
      this.ledger = ds.initialize();
    }
    return (await this.ledger).query<T[]>(query, parameters);
  }

  /** The samples topic's end offset per partition (what has been produced so far). */
  async sampleTopicEnds(): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Whether rating has committed everything below `ends` (rating keeps its offsets in the
   * ledger, in the same transaction as the usage: so what is committed is in the ledger).
   */
  async ratedUpTo(ends: ReadonlyMap<number, bigint>): Promise<boolean> {
    const rows = await this.sql<{ partition: number; next_offset: string }>(
      'SELECT partition, next_offset FROM consumer_offset WHERE group_id = $1 AND topic = $2',
      [this.groupId, this.topic],
    );
    const committed = new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
    return [...ends].every(([p, end]) => end === 0n || (committed.get(p) ?? 0n) >= end);
  }

  /** Stops everything it started and removes its topics, schema, database and files. */
  async stop(): Promise<void> {
    const problems: unknown[] = [];
    const attempt = async (step: () => unknown): Promise<void> => {
      try {
        await step();
      } catch (error) {
        problems.push(error);
      }
    };
    if (this.prometheusStarted) await attempt(() => this.prometheus('stop'));
    for (const name of [...this.children.keys()].reverse()) {
      await attempt(() => this.stopService(name));
    }
    await attempt(async () => {
      const body = new URLSearchParams({ q: `DROP DATABASE "${this.influxDatabase}"` });
      await fetch(`${localInfra.influxUrl}/query`, { method: 'POST', body });
    });
    if (this.ledger !== undefined) {
      const ledger = this.ledger;
      this.ledger = undefined;
      await attempt(async () => (await ledger).destroy());
    }
    await attempt(async () => {
      const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema: this.schema });
      await ds.initialize();
      try {
        await ds.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
      } finally {
        await ds.destroy();
      }
    });
    if (this.topicsCreated) {
      await attempt(async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        try {
          await admin.deleteTopics({ topics: [this.topic, this.dlqTopic, this.usageTopic] });
        } finally {
          await admin.disconnect();
        }
      });
    }
    rmSync(this.tmp, { recursive: true, force: true });
    if (problems.length > 0)
      throw new AggregateError(problems, `${this.name}: tear-down incomplete`);
  }
}

/** SIGTERM, then SIGKILL after 15 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** The value of one Prometheus series in a /metrics text (name and labels by regex), or null. */
export function metricValue(text: string, series: RegExp): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && series.test(line.slice(0, space))) return Number(line.slice(space + 1));
  }
  return null;
}

function hostOf(value: Buffer): string | null {
  try {
    const host = (JSON.parse(value.toString('utf8')) as { host?: unknown } | null)?.host;
    return typeof host === 'string' ? host : null;
  } catch {
    return null;
  }
}
