import { Kafka, logLevel } from 'kafkajs';
import { type SampleEvent, encode } from '@metering/contracts';
import { steadySample } from '@metering/contracts/testing';
import { ServicePipeline } from '@metering/pipeline-harness';
import { localInfra, waitFor } from '@metering/testing';

const GIB = 2 ** 30;
const HOUR = 3_600_000;

interface Resource {
  readonly tenant: string;
  readonly id: string;
  readonly name: string;
  readonly kind: 'container' | 'vm';
  readonly host: string;
  readonly cores: number;
  readonly memoryBytes: number;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  /** A tenant API key (mk_…), issued through the billing API. */
  key: string;
}

/** The first instant of the month before the one holding `ms`, in UTC (a margin for any zone). */
function monthBefore(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1) - 14 * HOUR;
}

/**
 * The tenant portal's world for the browser tests: the real billing API (which serves the
 * built portal under /portal/) and the real rating service on their own topics and ledger schema
 * (ServicePipeline). Two tenants, registered and priced through the billing API; samples for
 * their containers and VM — every hour from before the start of last month to a few minutes ago —
 * signed as their hosts' collectors sign them, published to Kafka and rated by rating into the
 * ledger: what the portal shows is real ledger data. Last month is closed (a final invoice with a
 * number and a stored PDF); this month is a live draft.
 */
export class PortalWorld {
  readonly pipeline = new ServicePipeline('portal');
  readonly a: Tenant = {
    id: `${this.pipeline.name}-a`,
    name: 'Ωμέγα Cloud GmbH',
    timeZone: 'Europe/Berlin',
    key: '',
  };
  readonly b: Tenant = {
    id: `${this.pipeline.name}-b`,
    name: 'Other Tenant Ltd',
    // Ahead of A's zone: whenever A's last month has ended, B's has too (the close needs both).
    timeZone: 'Asia/Tokyo',
    key: '',
  };
  readonly resources: readonly Resource[] = [
    this.resource(this.a, 'web-1', 'container', 'node-a', 0.5, GIB / 2),
    this.resource(this.a, 'db-1', 'container', 'node-a', 0.25, GIB),
    this.resource(this.a, 'build-vm', 'vm', 'node-b', 1, 2 * GIB),
    this.resource(this.b, 'b-secret-1', 'container', 'node-c', 2, 4 * GIB),
  ];
  /** The instant the samples end (every hour from before last month's start up to it). */
  lastSampleMs = 0;
  lastPeriod = '';
  private readonly kafka = new Kafka({
    clientId: 'portal-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });

  private resource(
    tenant: Tenant,
    name: string,
    kind: 'container' | 'vm',
    host: string,
    cores: number,
    memoryBytes: number,
  ): Resource {
    return {
      tenant: tenant.id,
      id: `${tenant.id}-${name}-id`,
      name,
      kind,
      host,
      cores,
      memoryBytes,
    };
  }

  get url(): string {
    return `${this.pipeline.billingUrl}/portal/`;
  }

  async start(nowMs: number): Promise<void> {
    await this.pipeline.prepare(1);
    await this.pipeline.startBillingApi({ CLOSE_GRACE_MS: '0' });
    const startMs = monthBefore(nowMs);
    const effectiveFrom = new Date(startMs - 24 * HOUR).toISOString();
    const plans = [
      {
        tenant: this.a,
        plan: {
          id: `${this.pipeline.name}-std`,
          currency: 'EUR',
          basis: 'usage',
          cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] },
          memory: { tiers: [{ upTo: null, unitPrice: '0.005' }] },
          minimum: '0.00',
        },
      },
      {
        tenant: this.b,
        plan: {
          id: `${this.pipeline.name}-mem`,
          currency: 'EUR',
          basis: 'usage',
          memory: { tiers: [{ upTo: null, unitPrice: '0.01' }] },
          minimum: '0.00',
        },
      },
    ];
    for (const { tenant, plan } of plans) {
      await this.pipeline.api('POST', '/v1/tenants', {
        body: { id: tenant.id, name: tenant.name, timeZone: tenant.timeZone, currency: 'EUR' },
      });
      await this.pipeline.api('POST', '/v1/price-plans', { body: plan });
      await this.pipeline.api('PUT', `/v1/tenants/${tenant.id}/plan`, {
        body: { planId: plan.id, effectiveFrom },
      });
      const issued = await this.pipeline.api<{ key: string }>(
        'POST',
        `/v1/tenants/${tenant.id}/api-keys`,
      );
      tenant.key = issued.key;
    }
    // Hourly samples: rating's gap limit above an hour, so consecutive samples are usage.
    await this.pipeline.startRating({ MAX_GAP_MS: String(2 * HOUR) });
    this.lastSampleMs = nowMs - 5 * 60_000;
    await this.publish(this.samples(startMs, this.lastSampleMs));
    const ends = await this.pipeline.sampleTopicEnds();
    await waitFor(() => this.pipeline.ratedUpTo(ends), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'rating has committed every published sample',
    });
    // Last month (in tenant A's zone) is closed: a final invoice, numbered, its PDF stored.
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: this.a.timeZone,
      year: 'numeric',
      month: '2-digit',
    }).formatToParts(new Date(nowMs));
    const y = Number(parts.find((p) => p.type === 'year')?.value);
    const m = Number(parts.find((p) => p.type === 'month')?.value);
    this.lastPeriod = new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 7);
    await this.pipeline.api('POST', `/v1/periods/${this.lastPeriod}/close`);
  }

  private samples(startMs: number, endMs: number): SampleEvent[] {
    const out: SampleEvent[] = [];
    const startedAtMs = startMs - 5_000;
    for (const r of this.resources) {
      const times: number[] = [];
      for (let t = startMs; t < endMs; t += HOUR) times.push(t);
      times.push(endMs);
      times.forEach((atMs, i) => {
        out.push(
          steadySample(r, {
            atMs,
            startedAtMs,
            first: i === 0,
            allocationCores: 4,
            allocationBytes: 8 * GIB,
          }),
        );
      });
    }
    return out.sort((x, y) => Date.parse(x.observedAt) - Date.parse(y.observedAt));
  }

  private async publish(samples: readonly SampleEvent[]): Promise<void> {
    const messages = samples.map((s) => ({ key: s.resource.id, value: encode(s) }));
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

  /** A billing API call with a tenant's bearer key (or the admin's): the answer's bytes. */
  request(
    method: string,
    path: string,
    key: string | undefined,
  ): ReturnType<ServicePipeline['request']> {
    return this.pipeline.request(method, path, key === undefined ? {} : { key });
  }

  /** Moves a tenant's portal sessions' idle clock back past the idle timeout (30 min). */
  async ageSessions(tenantId: string): Promise<number> {
    const rows = await this.pipeline.sql<{ n: string }>(
      `WITH aged AS (UPDATE portal_session SET last_seen_at = now() - interval '31 minutes'
         WHERE tenant_id = $1 RETURNING 1) SELECT count(*)::text AS n FROM aged`,
      [tenantId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  stop(): Promise<void> {
    return this.pipeline.stop();
  }
}
