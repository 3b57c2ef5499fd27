// One isolated real pipeline for integration specs and benches: its names (topics, group,
// schema, database), ports, the services it started and its tear-down. Processes:
// service-process.ts; billing API calls: billing-api-client.ts; sample signing: host-signing.ts.
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { hostKeyLine } from '@metering/contracts';
import { createLedgerDataSource } from '@metering/ledger';
import { freePort, localInfra, uniqueName } from '@metering/testing';
import { billingRequest, successJson, type ApiAnswer, type ApiCall } from './billing-api-client';
import { pipelineHostKey, signMessages, type SignedMessage } from './host-signing';
import { type InfluxSeries, influxQL } from './query-clients';
import {
  REPO_ROOT,
  describeExit,
  runPrometheusScript,
  spawnService,
  stopChild,
  waitHealthy,
  watchExit,
  type ServiceName,
  type UnexpectedExit,
} from './service-process';

export { type ApiAnswer, type ApiCall } from './billing-api-client';
export { type ServiceName, type UnexpectedExit } from './service-process';

type PortName = ServiceName | 'prometheus';

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
  /** Services being stopped or killed on purpose: their exits are not reported. */
  private readonly leaving = new Set<ServiceName>();
  /** Started services that exited while nobody was stopping them (assertRunning throws). */
  readonly exits: UnexpectedExit[] = [];
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
  signed(messages: readonly { key: string | Buffer; value: Buffer }[]): SignedMessage[] {
    return signMessages(this.hostAuthMaster, messages);
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
      HOST_AUTH_KEY_FILE: this.secretFile(
        `host-${kind}.key`,
        hostKeyLine(pipelineHostKey(this.hostAuthMaster, name)),
      ),
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      SAMPLES_TOPIC: this.topic,
      SPOOL_DIR: join(this.tmp, `spool-${kind}`),
      SHUTDOWN_FLUSH_MS: '1000',
    };
  }

  /** Starts a compiled service and returns once its /healthz answers 200. */
  async startService(name: ServiceName, env: Record<string, string>): Promise<void> {
    if (this.ports[name] === 0) throw new Error('ServicePipeline: call prepare() first');
    const logFile = this.logFile(name);
    const child = await spawnService({
      name,
      port: this.ports[name],
      schema: this.schema,
      logFile,
      nodeArgs: this.nodeArgs,
      env,
    });
    this.children.set(name, child);
    this.leaving.delete(name);
    await waitHealthy(name, child, this.url(name), logFile);
    // From now on a service that dies mid-test is said at once, with its log's end, rather than
    // found later as a wait that timed out (the pipeline's queries throw it: assertRunning). A
    // start that fails throws above instead.
    watchExit(
      name,
      child,
      logFile,
      () => this.leaving.has(name) || this.children.get(name) !== child,
      (exit) => {
        this.exits.push(exit);
        process.stderr.write(`[pipeline ${this.name}] ${describeExit(exit)}\n`);
      },
    );
  }

  /** Throws when a started service exited while nobody was stopping it, naming it with its log. */
  assertRunning(): void {
    if (this.exits.length > 0) throw new Error(this.exits.map(describeExit).join('\n'));
  }

  /** Sends `signal` to a started service on purpose (a crash test): its exit is not reported. */
  kill(name: ServiceName, signal: NodeJS.Signals): void {
    const child = this.children.get(name);
    if (child === undefined) throw new Error(`ServicePipeline: ${name} is not started`);
    this.leaving.add(name);
    child.kill(signal);
  }

  /** The process id of a started service, or undefined. */
  pid(name: ServiceName): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** SIGTERM (SIGKILL after 15 s); resolves once the process is gone. */
  async stopService(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined) return;
    this.leaving.add(name);
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
    runPrometheusScript(action, join(this.tmp, 'stack'), this.ports.prometheus, env);
  }

  /** A billing API call; the answer whatever its status. */
  request(method: string, path: string, call: ApiCall = {}): Promise<ApiAnswer> {
    return billingRequest(this.billingUrl, this.adminKey, method, path, call);
  }

  /** A billing API call that must succeed (2xx); the parsed JSON body. */
  async api<T>(method: string, path: string, call: ApiCall = {}): Promise<T> {
    return successJson<T>(method, path, await this.request(method, path, call));
  }

  /** A service's /metrics text. */
  async metrics(service: ServiceName): Promise<string> {
    this.assertRunning();
    const response = await fetch(`${this.url(service)}/metrics`);
    if (!response.ok) throw new Error(`${service} /metrics: ${response.status}`);
    return response.text();
  }

  /** InfluxQL over this pipeline's database. */
  influxQL(q: string): Promise<InfluxSeries[]> {
    this.assertRunning();
    return influxQL(localInfra.influxUrl, this.influxDatabase, q);
  }

  /** SQL over this pipeline's ledger schema (one small pool, closed by stop()). */
  async sql<T>(query: string, parameters: unknown[] = []): Promise<T[]> {
    this.assertRunning();
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
