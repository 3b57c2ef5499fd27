import { type AddressInfo } from 'node:net';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { type DataSource } from 'typeorm';
import { createLedgerDataSource } from '@metering/ledger';
import { createRootLogger } from '@metering/observability';
import { appPostgresUrl, ensureAppRole, localInfra, uniqueName } from '@metering/testing';
import { createBillingApp } from '../src/app.factory';
import { loadBillingConfig } from '../src/config';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly buffer: Buffer;
  /** The parsed JSON body (or undefined when the body is not JSON). */
  readonly json: unknown;
}

/** An RFC 9457 problem answer with our extension members. */
export interface ProblemJson {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  field?: string;
  errors?: { field: string; message: string }[];
}

export interface CallOptions {
  readonly key?: string | null | undefined;
  readonly body?: unknown;
  /** A raw body sent as is (with a JSON content type): text, or bytes that need not be UTF-8. */
  readonly rawBody?: string | Uint8Array;
  readonly headers?: Record<string, string>;
}

/** A real billing-api on 127.0.0.1:0 over its own PostgreSQL schema, dropped afterwards. */
export class BillingHarness {
  readonly schema = uniqueName('billing');
  app!: NestExpressApplication;
  db!: DataSource;
  baseUrl = '';

  private readonly others: NestExpressApplication[] = [];

  async start(env: Record<string, string> = {}): Promise<this> {
    await ensureAppRole();
    this.app = await this.listen('billing-api-test', env);
    this.baseUrl = urlOf(this.app);
    this.db = createLedgerDataSource({
      url: localInfra.postgresUrl,
      schema: this.schema,
      poolSize: 2,
    });
    await this.db.initialize();
    return this;
  }

  /**
   * Another billing-api instance over the same schema (on 127.0.0.1:0), closed by stop(): for
   * instances racing each other, or a scheduler that starts once a spec's fixtures are in place.
   */
  async another(
    env: Record<string, string> = {},
  ): Promise<{ app: NestExpressApplication; url: string }> {
    const app = await this.listen(`billing-api-test-${this.others.length + 2}`, env);
    this.others.push(app);
    return { app, url: urlOf(app) };
  }

  private async listen(
    serviceName: string,
    env: Record<string, string>,
  ): Promise<NestExpressApplication> {
    const config = loadBillingConfig({
      // As in production: the service's pool is the app role; migrations run as the owner.
      DATABASE_URL: appPostgresUrl(),
      DATABASE_MIGRATION_URL: localInfra.postgresUrl,
      DATABASE_SCHEMA: this.schema,
      ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      RATE_LIMIT: '1000000',
      CLOSE_GRACE_MS: '0',
      DATABASE_POOL_SIZE: '4',
      PROVIDER_NAME: 'Test Cloud GmbH',
      // Months close when a spec says so; the scheduled close has its own spec.
      SCHEDULED_CLOSE: 'off',
      ...env,
    });
    const logger = createRootLogger({
      serviceName,
      level: (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'silent',
    });
    const app = await createBillingApp(config, logger);
    await app.listen(0, '127.0.0.1');
    return app;
  }

  async stop(): Promise<void> {
    for (const other of this.others.splice(0)) await other.close();
    await this.app?.close();
    if (this.db?.isInitialized) {
      await this.db.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
      await this.db.destroy();
    }
  }

  async call(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer> {
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    const headers: Record<string, string> = { ...options.headers };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(this.baseUrl + path, { method, headers, body: body ?? null });
    const buffer = Buffer.from(await response.arrayBuffer());
    const text = buffer.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, buffer, json };
  }

  /** Usage fixtures straight into the ledger: quantities in vCPU-hours and GiB-hours. */
  async bucket(
    tenantId: string,
    resourceId: string,
    bucketStartIso: string,
    cpuHours: string,
    memoryGibHours = '0',
    options: { gapMs?: number; observedMs?: number; allocationCpuHours?: string } = {},
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO usage_bucket (tenant_id, resource_id, bucket_start, resource_kind,
         cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
         memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
         observed_ms, gap_ms)
       VALUES ($1, $2, $3, 'container', $4::numeric * 3600, $5::numeric * 3600, greatest($4::numeric, $5::numeric) * 3600,
               $6::numeric * 3600 * 1073741824, $6::numeric * 3600 * 1073741824, $6::numeric * 3600 * 1073741824, $7, $8)
       ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
         cpu_usage_core_seconds = usage_bucket.cpu_usage_core_seconds + EXCLUDED.cpu_usage_core_seconds,
         cpu_allocation_core_seconds = usage_bucket.cpu_allocation_core_seconds + EXCLUDED.cpu_allocation_core_seconds,
         cpu_max_core_seconds = usage_bucket.cpu_max_core_seconds + EXCLUDED.cpu_max_core_seconds,
         memory_usage_byte_seconds = usage_bucket.memory_usage_byte_seconds + EXCLUDED.memory_usage_byte_seconds,
         memory_allocation_byte_seconds = usage_bucket.memory_allocation_byte_seconds + EXCLUDED.memory_allocation_byte_seconds,
         memory_max_byte_seconds = usage_bucket.memory_max_byte_seconds + EXCLUDED.memory_max_byte_seconds,
         observed_ms = usage_bucket.observed_ms + EXCLUDED.observed_ms,
         gap_ms = usage_bucket.gap_ms + EXCLUDED.gap_ms,
         updated_at = now()`,
      [
        tenantId,
        resourceId,
        bucketStartIso,
        cpuHours,
        options.allocationCpuHours ?? cpuHours,
        memoryGibHours,
        options.observedMs ?? 3_600_000 - (options.gapMs ?? 0),
        options.gapMs ?? 0,
      ],
    );
  }

  // Shorthands for fixtures through the API itself.
  async tenant(
    id: string,
    currency = 'EUR',
    timeZone = 'UTC',
    name = id.toUpperCase(),
  ): Promise<void> {
    const r = await this.call('POST', '/v1/tenants', { body: { id, name, timeZone, currency } });
    if (r.status !== 201) throw new Error(`tenant ${id}: ${r.status} ${r.text}`);
  }

  async plan(body: Record<string, unknown>): Promise<number> {
    const r = await this.call('POST', '/v1/price-plans', {
      body: { currency: 'EUR', basis: 'usage', ...body },
    });
    if (r.status !== 201) throw new Error(`plan: ${r.status} ${r.text}`);
    return (r.json as { version: number }).version;
  }

  async assign(
    tenantId: string,
    planId: string,
    effectiveFrom: string,
    planVersion?: number,
  ): Promise<void> {
    const r = await this.call('PUT', `/v1/tenants/${tenantId}/plan`, {
      body: { planId, effectiveFrom, ...(planVersion === undefined ? {} : { planVersion }) },
    });
    if (r.status !== 200) throw new Error(`assign: ${r.status} ${r.text}`);
  }

  async key(tenantId: string): Promise<{ id: string; key: string }> {
    const r = await this.call('POST', `/v1/tenants/${tenantId}/api-keys`);
    if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
    return r.json as { id: string; key: string };
  }
}

function urlOf(app: NestExpressApplication): string {
  return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
}

export interface InvoiceJson {
  tenantId: string;
  period: string;
  status: string;
  number: string | null;
  currency: string;
  lines: {
    meter: string;
    quantity: string;
    unit: string;
    amount: string;
    unitPrice: string | null;
    adjustsPeriod?: string;
    from?: string;
    tiers?: { tier: number; quantity: string }[];
    completeness?: string | null;
  }[];
  resources: { resourceId: string; cpu: { quantity: string }; memory: { quantity: string } }[];
  subtotal: string;
  total: string;
  minimum: { committed: string; prorated: string };
  completeness: { ratio: string | null };
  contentHash: string | null;
}
