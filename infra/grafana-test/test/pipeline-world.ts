import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type SampleEvent, encode, sampleIdOf } from '@metering/contracts';
import { createLedgerDataSource } from '@metering/ledger';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { REPO_ROOT } from '../src/dashboard.loader';

const run = promisify(execFile);
const LOG_DIR = join(process.env.STACK_DIR ?? join(REPO_ROOT, '.stack'), 'logs', 'tests');
const GIB = 2 ** 30;

export type ServiceName = 'billing-api' | 'rating' | 'docker-collector' | 'vm-collector';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** A resource of the generated stream: what a collector on `host` would report for it. */
interface GeneratedResource {
  readonly tenant: string;
  readonly id: string;
  readonly kind: 'container' | 'vm';
  readonly host: string;
  readonly cores: number;
  readonly memoryBytes: number;
}

/**
 * One short run of the real pipeline, isolated from everything else on the machine: its own
 * Kafka topics and consumer group, ledger schema and InfluxDB database; the real billing API,
 * rating, docker-collector (with one labelled busybox container) and vm-collector (libvirt's
 * test:///default driver) as processes on free loopback ports; and its own Prometheus
 * (infra/local/prometheus.sh) scraping those four every second. Tenants a and b (priced plans,
 * made through the billing API) get a generated stream of the last 20 minutes; tenant `live`
 * gets what the two collectors really sample.
 */
export class PipelineWorld {
  readonly name = uniqueName('grafana');
  readonly topic = `${this.name}.samples`;
  readonly dlqTopic = `${this.name}.dlq`;
  readonly usageTopic = `${this.name}.usage`;
  readonly influxDatabase = this.name;
  readonly tenants = { a: `${this.name}-a`, b: `${this.name}-b`, live: `${this.name}-live` };
  readonly hosts = { docker: `${this.name}-docker`, kvm: `${this.name}-kvm` };
  readonly adminKey = randomBytes(24).toString('hex');
  readonly ports: Record<ServiceName | 'prometheus', number> = {
    'billing-api': 0,
    rating: 0,
    'docker-collector': 0,
    'vm-collector': 0,
    prometheus: 0,
  };
  readonly resources: readonly GeneratedResource[] = [
    ...[this.tenants.a, this.tenants.b].flatMap((tenant): GeneratedResource[] => [
      {
        tenant,
        id: `${tenant}-web-1`,
        kind: 'container',
        host: 'node-a',
        cores: 0.25,
        memoryBytes: GIB / 4,
      },
      {
        tenant,
        id: `${tenant}-db-1`,
        kind: 'container',
        host: 'node-a',
        cores: 0.5,
        memoryBytes: GIB / 2,
      },
      { tenant, id: `${tenant}-vm-1`, kind: 'vm', host: 'node-b', cores: 1, memoryBytes: GIB },
    ]),
  ];
  /** Every generated instance started at startedAtMs and was last sampled at lastMs. */
  stream = { startedAtMs: 0, lastMs: 0 };
  private readonly tmp = mkdtempSync(join(tmpdir(), 'grafana-test-'));
  private readonly kafka = new Kafka({
    clientId: 'grafana-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  private readonly children = new Map<ServiceName, ChildProcess>();
  private containerId: string | undefined;
  private prometheusStarted = false;
  private topicsCreated = false;

  get prometheusUrl(): string {
    return `http://127.0.0.1:${this.ports.prometheus}`;
  }

  get billingUrl(): string {
    return `http://127.0.0.1:${this.ports['billing-api']}`;
  }

  /** Brings the whole world up; the stream is published once rating consumes. */
  async start(nowMs: number): Promise<void> {
    for (const key of Object.keys(this.ports) as (keyof typeof this.ports)[]) {
      this.ports[key] = await freePort();
    }
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: this.topic, numPartitions: 3 },
          { topic: this.dlqTopic, numPartitions: 1 },
          { topic: this.usageTopic, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      this.topicsCreated = true;
    } finally {
      await admin.disconnect();
    }

    // The billing API migrates the ledger schema; tenants and plans go through its routes.
    await this.startService('billing-api', { ADMIN_API_KEY: this.adminKey });
    await this.registerTenants(nowMs);
    await this.startService('rating', {
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      SAMPLES_TOPIC: this.topic,
      SAMPLES_DLQ_TOPIC: this.dlqTopic,
      USAGE_TOPIC: this.usageTopic,
      RATING_GROUP_ID: `${this.name}-group`,
      INFLUX_URL: localInfra.influxUrl,
      INFLUX_DATABASE: this.influxDatabase,
      INFLUX_FLUSH_INTERVAL_MS: '200',
      TENANT_CATALOG_TTL_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      DATABASE_POOL_SIZE: '4',
    });

    const collectorEnv = {
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      SAMPLES_TOPIC: this.topic,
      DEFAULT_TENANT: this.tenants.live,
      SAMPLE_INTERVAL_MS: '2000',
      SHUTDOWN_FLUSH_MS: '1000',
    };
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--network',
      'none',
      '--label',
      `metering.tenant=${this.tenants.live}`,
      '--label',
      `metering.test-run=${this.name}`,
      '--name',
      `${this.name}-busybox`,
      localInfra.busyboxImage,
      'sleep',
      '600',
    ]);
    this.containerId = stdout.trim();
    await this.startService('docker-collector', {
      ...collectorEnv,
      DOCKER_SOCKET: localInfra.dockerSocket,
      HOST_NAME: this.hosts.docker,
      SPOOL_DIR: join(this.tmp, 'spool-docker'),
    });
    await this.startService('vm-collector', {
      ...collectorEnv,
      LIBVIRT_URIS: 'test:///default',
      HOST_NAME: this.hosts.kvm,
      POLL_INTERVAL_MS: '1000',
      SPOOL_DIR: join(this.tmp, 'spool-vm'),
    });

    await this.publish(
      this.generatedSamples(nowMs).map((s) => ({ key: s.resource.id, value: encode(s) })),
    );

    const targets = (['docker-collector', 'vm-collector', 'rating', 'billing-api'] as const)
      .map((s) => `${s}=127.0.0.1:${this.ports[s]}`)
      .join(',');
    this.prometheusStarted = true;
    this.prometheus('start', {
      PROMETHEUS_TARGETS: targets,
      PROMETHEUS_SCRAPE_INTERVAL: '1s',
    });
  }

  /** Publishes a message that is not a sample: rating dead-letters it. */
  async publishInvalid(): Promise<void> {
    await this.publish([
      { key: 'broken', value: Buffer.from('{"schema":"metering.sample.v1","sampleId":"broken"}') },
    ]);
  }

  /** Admin call to the billing API; the parsed JSON body. */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.billingUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  private async registerTenants(nowMs: number): Promise<void> {
    const now = new Date(nowMs);
    // Effective well before the stream, so every sample is priced.
    const effectiveFrom = new Date(
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1),
    ).toISOString();
    const plans = [
      {
        tenant: { id: this.tenants.a, name: 'Tenant A', timeZone: 'UTC', currency: 'EUR' },
        plan: {
          id: `${this.name}-cpu-mem`,
          currency: 'EUR',
          basis: 'usage',
          cpu: {
            tiers: [
              { upTo: '0.5', unitPrice: '4.00' },
              { upTo: null, unitPrice: '3.00' },
            ],
          },
          memory: { tiers: [{ upTo: null, unitPrice: '0.50' }] },
          minimum: '0.00',
        },
      },
      {
        tenant: { id: this.tenants.b, name: 'Tenant B', timeZone: 'Asia/Kolkata', currency: 'EUR' },
        plan: {
          id: `${this.name}-mem`,
          currency: 'EUR',
          basis: 'usage',
          memory: { tiers: [{ upTo: null, unitPrice: '0.80' }] },
          minimum: '0.00',
        },
      },
    ];
    for (const { tenant, plan } of plans) {
      await this.api('POST', '/v1/tenants', tenant);
      await this.api('POST', '/v1/price-plans', plan);
      await this.api('PUT', `/v1/tenants/${tenant.id}/plan`, { planId: plan.id, effectiveFrom });
    }
  }

  /**
   * Samples every 10 s over the last 20 minutes for each generated resource: a steady CPU rate
   * and memory level, so every measurement rating writes (usage, charges, resource) has points
   * inside any window from the last 5 minutes to the last 3 hours.
   */
  private generatedSamples(nowMs: number): SampleEvent[] {
    const startMs = nowMs - 20 * 60_000;
    const startedAtMs = startMs - 5_000;
    const samples: SampleEvent[] = [];
    let lastMs = startMs;
    for (const r of this.resources) {
      const instanceId = `${r.id}-i0`;
      for (let t = startMs, i = 0; t <= nowMs - 2_000; t += 10_000, i += 1) {
        lastMs = t;
        const observedAt = new Date(t).toISOString();
        const source = r.kind === 'vm' ? 'libvirt' : 'docker';
        samples.push({
          schema: 'metering.sample.v1',
          sampleId: sampleIdOf({ source, host: r.host, resourceId: r.id, instanceId, observedAt }),
          source,
          host: r.host,
          resource: {
            kind: r.kind,
            id: r.id,
            name: r.id,
            tenantId: r.tenant,
            instanceId,
            startedAt: new Date(startedAtMs).toISOString(),
          },
          observedAt,
          lifecycle: i === 0 ? 'start' : 'running',
          cpu: {
            usageNs: (BigInt(t - startedAtMs) * BigInt(Math.round(r.cores * 1e6))).toString(),
            allocationCores: 1,
          },
          memory: { usageBytes: r.memoryBytes, allocationBytes: 2 * GIB },
        });
      }
    }
    this.stream = { startedAtMs, lastMs };
    return samples.sort((x, y) => Date.parse(x.observedAt) - Date.parse(y.observedAt));
  }

  private async publish(messages: readonly { key: string; value: Buffer }[]): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic: this.topic, messages: messages.slice(i, i + 500) });
      }
    } finally {
      await producer.disconnect();
    }
  }

  private async startService(name: ServiceName, env: Record<string, string>): Promise<void> {
    mkdirSync(LOG_DIR, { recursive: true });
    const logFile = join(LOG_DIR, `${this.name}-${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const dir = join(REPO_ROOT, 'services', name);
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', join(dir, 'dist', 'src', 'main.js')],
      {
        cwd: dir,
        env: {
          ...process.env,
          HOST: '127.0.0.1',
          HTTP_HOST: '127.0.0.1',
          PORT: String(this.ports[name]),
          LOG_LEVEL: 'info',
          DATABASE_URL: localInfra.postgresUrl,
          DATABASE_SCHEMA: this.name,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.children.set(name, child);
    const url = `http://127.0.0.1:${this.ports[name]}/healthz`;
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
    for (const [, child] of [...this.children].reverse()) await attempt(() => stopChild(child));
    if (this.containerId !== undefined) {
      const id = this.containerId;
      await attempt(() => run('docker', ['rm', '-f', id]));
    }
    await attempt(async () => {
      const body = new URLSearchParams({ q: `DROP DATABASE "${this.influxDatabase}"` });
      await fetch(`${localInfra.influxUrl}/query`, { method: 'POST', body });
    });
    await attempt(async () => {
      const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema: this.name });
      await ds.initialize();
      try {
        await ds.query(`DROP SCHEMA IF EXISTS "${this.name}" CASCADE`);
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
