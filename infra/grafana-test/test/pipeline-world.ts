import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type SampleEvent, encode } from '@metering/contracts';
import { steadySample } from '@metering/contracts/testing';
import { ServicePipeline } from '@metering/pipeline-harness';
import { localInfra } from '@metering/testing';

const run = promisify(execFile);
const GIB = 2 ** 30;

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
 * One short run of the real pipeline (ServicePipeline: the real billing API, rating,
 * docker-collector with one labelled busybox container, and vm-collector on libvirt's
 * test:///default driver, isolated in their own topics, group, ledger schema and InfluxDB
 * database), with its own Prometheus (infra/local/prometheus.sh) scraping those four every
 * second. Tenants a and b (priced plans, made through the billing API) get a generated stream of
 * the last 20 minutes; tenant `live` gets what the two collectors really sample, and is never
 * registered: its usage is unbilled (GET /v1/unbilled-usage, the unbilled panels).
 */
export class PipelineWorld {
  readonly pipeline = new ServicePipeline('grafana');
  readonly name = this.pipeline.name;
  readonly influxDatabase = this.pipeline.influxDatabase;
  readonly tenants = { a: `${this.name}-a`, b: `${this.name}-b`, live: `${this.name}-live` };
  readonly hosts = { docker: `${this.name}-docker`, kvm: `${this.name}-kvm` };
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
  private readonly kafka = new Kafka({
    clientId: 'grafana-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  private containerId: string | undefined;

  get prometheusUrl(): string {
    return this.pipeline.prometheusUrl;
  }

  get billingUrl(): string {
    return this.pipeline.billingUrl;
  }

  /** Brings the whole world up; the stream is published once rating consumes. */
  async start(nowMs: number): Promise<void> {
    await this.pipeline.prepare();
    // The billing API migrates the ledger schema; tenants and plans go through its routes.
    // The unbilled gauges every 2 s (not every minute), so the pipeline panel sees `live`.
    await this.pipeline.startBillingApi({ UNBILLED_REFRESH_MS: '2000' });
    await this.registerTenants(nowMs);
    await this.pipeline.startRating();

    const collectorEnv = {
      DEFAULT_TENANT: this.tenants.live,
      SAMPLE_INTERVAL_MS: '2000',
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
    await this.pipeline.startDockerCollector({ ...collectorEnv, HOST_NAME: this.hosts.docker });
    await this.pipeline.startVmCollector({
      ...collectorEnv,
      LIBVIRT_URIS: 'test:///default',
      HOST_NAME: this.hosts.kvm,
      POLL_INTERVAL_MS: '1000',
    });

    await this.publish(
      this.generatedSamples(nowMs).map((s) => ({ key: s.resource.id, value: encode(s) })),
    );
    this.pipeline.startPrometheus('1s');
  }

  /** Publishes a message that is not a sample: rating dead-letters it. */
  async publishInvalid(): Promise<void> {
    await this.publish([
      { key: 'broken', value: Buffer.from('{"schema":"metering.sample.v1","sampleId":"broken"}') },
    ]);
  }

  /** Admin call to the billing API; the parsed JSON body. */
  api<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.pipeline.api<T>(method, path, body === undefined ? {} : { body });
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
      for (let atMs = startMs, i = 0; atMs <= nowMs - 2_000; atMs += 10_000, i += 1) {
        lastMs = atMs;
        samples.push(
          steadySample(r, {
            atMs,
            startedAtMs,
            first: i === 0,
            allocationCores: 1,
            allocationBytes: 2 * GIB,
          }),
        );
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
        await producer.send({
          topic: this.pipeline.topic,
          messages: this.pipeline.signed(messages.slice(i, i + 500)),
        });
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Stops everything it started and removes its container, topics, schema, database and files. */
  async stop(): Promise<void> {
    const problems: unknown[] = [];
    if (this.containerId !== undefined) {
      await run('docker', ['rm', '-f', this.containerId]).catch((e: unknown) => problems.push(e));
    }
    await this.pipeline.stop().catch((e: unknown) => problems.push(e));
    if (problems.length > 0)
      throw new AggregateError(problems, `${this.name}: tear-down incomplete`);
  }
}
