import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DashboardQuery,
  type VariableValue,
  interpolateInfluxQL,
  loadDashboards,
  queriesOf,
} from '@metering/grafana-test';
import { type InfluxSeries, ServicePipeline, metricValue } from '@metering/pipeline-harness';
import { waitFor } from '@metering/testing';
import {
  type CloseJson,
  type InvoiceJson,
  type UsageJson,
  type UsageResourceJson,
  pdfToText,
} from './billing-documents';
import { CgroupAccounting } from './kernel/cgroup-accounting';
import { type PlanSpec } from './plan-arithmetic';
import { type ContainerAccount, TenantContainers } from './workloads/tenant-containers';
import { type DomainAccount, TenantDomain } from './workloads/tenant-domain';

export const GIB = 2 ** 30;

export interface ScenarioOptions {
  /** How long the workloads run before they are stopped and compared. */
  readonly runSeconds: number;
  /** The short-lived container starts this long after the others and lives `shortLivedSeconds`. */
  readonly shortLivedAfterSeconds: number;
  readonly shortLivedSeconds: number;
  /** The memory holder keeps this much in a tmpfs (its working set, give or take the shell). */
  readonly heldMib: number;
  /** Where the final invoices (JSON, CSV, PDF) are written, from the scenario's name. */
  readonly outDirOf: (scenarioName: string) => string;
  /** How often the live draft is reported while the workloads run (0: never). */
  readonly draftEverySeconds: number;
  readonly onProgress: (line: string) => void;
}

export interface TenantSetup {
  readonly key: 'a' | 'b';
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly period: string;
  readonly plan: PlanSpec;
  /** The tenant's own API key (issued by the billing API, shown once). */
  apiKey: string;
}

/** The kernel's (or libvirt's) own account of a tenant, read by the scenario itself. */
export interface KernelAccount {
  readonly source: string;
  readonly cpuCoreSeconds: number;
  readonly memoryGibSeconds: number;
}

export interface InfluxTotals {
  readonly cpuCoreSeconds: number;
  readonly memoryGibSeconds: number;
  readonly amount: number;
}

/** The "Tenant usage & charges" dashboard's panels, as Grafana would run them now. */
export interface PanelFigures {
  readonly monthToDateCharges: number | null;
  readonly monthToDateCpuHours: number | null;
  readonly monthToDateMemoryGibHours: number | null;
  readonly cpuCoreHours: number;
  readonly memoryGibHours: number;
  readonly charges: number;
  readonly topResources: ReadonlyMap<
    string,
    { readonly cpuHours: number; readonly memoryGibHours: number; readonly charges: number }
  >;
  /** The queries as sent, for a failure message or a curious reader. */
  readonly queries: readonly string[];
}

export interface FinalDocuments {
  readonly json: InvoiceJson;
  readonly csv: string;
  readonly pdfText: string;
  readonly pdfPath: string;
}

export interface TenantOutcome {
  readonly setup: TenantSetup;
  readonly kernel: KernelAccount;
  /** The draft after the run, once every sample was rated. */
  readonly draft: InvoiceJson;
  readonly usage: UsageJson;
  /** The month's resources with their names (`by=resource`). */
  readonly resources: readonly UsageResourceJson[];
  /** Σ usage_bucket.amount in the ledger: what InfluxDB's charges come from. */
  readonly ledgerAmount: string;
  readonly influx: InfluxTotals;
  readonly panels: PanelFigures;
  readonly final: FinalDocuments;
  /** HTTP statuses: this tenant's key on its own invoice, on the other's; the admin key. */
  readonly access: { readonly own: number; readonly other: number; readonly admin: number };
}

export interface ScenarioResult {
  readonly name: string;
  readonly tenants: { readonly a: TenantOutcome; readonly b: TenantOutcome };
  readonly containers: readonly ContainerAccount[];
  readonly domain: DomainAccount;
  /** Statuses of the live drafts read while the workloads ran. */
  readonly liveDraftStatuses: readonly string[];
  /** What did not settle in time after the freeze (empty when all was rated). */
  readonly settleProblems: readonly string[];
  readonly closes: readonly CloseJson[];
  readonly testClockStart: string;
  readonly seconds: { readonly run: number; readonly total: number };
}

/** "2026-11" of an instant in a zone. */
export function localMonth(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
  }).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}`;
}

/**
 * The first zone in which [fromMs, toMs] lies within one billing month: a run never straddles a
 * month end (its usage would land on two invoices), whatever the hour it starts at.
 */
export function zoneKeepingMonth(
  candidates: readonly string[],
  fromMs: number,
  toMs: number,
): string {
  const zone = candidates.find((z) => localMonth(fromMs, z) === localMonth(toMs, z));
  if (zone === undefined) throw new Error(`every zone of ${candidates.join(', ')} changes month`);
  return zone;
}

/** The 10th of the month after `period`, 00:00 UTC: past its end in every zone plus 2 days. */
export function closableTestClock(period: string): Date {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month, 10));
}

/**
 * The acceptance scenario of issue 6, one module for two front-ends (the `npm test` spec and
 * `npm run demo`): the real pipeline (ServicePipeline), two tenants with different plans through
 * the billing API, tenant A's busybox containers (CPU burners with quotas, a memory holder, a
 * short-lived one) under its parent cgroup, tenant B's KVM domain; then freeze, let everything be
 * rated, and gather what the kernel, libvirt, the ledger, the invoices, InfluxDB and the Grafana
 * panels say, close the month (billing-api's test clock) and read the final invoices in JSON,
 * CSV and PDF. It observes; the spec judges and the demo prints.
 */
export class AcceptanceScenario {
  readonly pipeline = new ServicePipeline('e2e');
  readonly name = this.pipeline.name;
  readonly tenants: { readonly a: TenantSetup; readonly b: TenantSetup };
  readonly testClockStart: Date;
  private readonly cgroups = CgroupAccounting.detect();
  readonly containers: TenantContainers;
  readonly domain: TenantDomain;
  private readonly startedAtMs = Date.now();

  constructor(private readonly options: ScenarioOptions) {
    // The whole scenario fits in 15 minutes by far; no tenant's month may end inside it.
    const until = this.startedAtMs + 15 * 60_000;
    const zoneA = zoneKeepingMonth(
      ['UTC', 'Asia/Kolkata', 'America/New_York'],
      this.startedAtMs,
      until,
    );
    const zoneB = zoneKeepingMonth(
      ['Asia/Kolkata', 'America/New_York', 'UTC'],
      this.startedAtMs,
      until,
    );
    const a = `${this.name}-a`;
    const b = `${this.name}-b`;
    this.tenants = {
      a: {
        key: 'a',
        id: a,
        name: 'Tenant A (containers)',
        timeZone: zoneA,
        currency: 'EUR',
        period: localMonth(this.startedAtMs, zoneA),
        apiKey: '',
        plan: {
          id: `${a}-cpu-mem`,
          currency: 'EUR',
          basis: 'usage',
          cpu: {
            tiers: [
              { upTo: '0.002', unitPrice: '36.00' },
              { upTo: '0.006', unitPrice: '24.00' },
              { upTo: null, unitPrice: '12.00' },
            ],
          },
          memory: {
            tiers: [
              { upTo: '0.0005', unitPrice: '400.00' },
              { upTo: null, unitPrice: '250.00' },
            ],
          },
          minimum: '0.25',
        },
      },
      b: {
        key: 'b',
        id: b,
        name: 'Tenant B (KVM)',
        timeZone: zoneB,
        currency: 'INR',
        period: localMonth(this.startedAtMs, zoneB),
        apiKey: '',
        plan: {
          id: `${b}-mem`,
          currency: 'INR',
          basis: 'usage',
          memory: { tiers: [{ upTo: null, unitPrice: '30000.00' }] },
          minimum: '500.00',
        },
      },
    };
    const latest = [this.tenants.a.period, this.tenants.b.period].sort().at(-1) ?? '';
    this.testClockStart = closableTestClock(latest);
    this.containers = new TenantContainers(this.tenants.a.id, this.name, this.cgroups);
    this.domain = new TenantDomain(this.tenants.b.id, `${this.name}-vm`);
  }

  private progress(line: string): void {
    this.options.onProgress(line);
  }

  /** Runs everything; the workloads are removed before it returns, even on failure. */
  async run(): Promise<ScenarioResult> {
    let failed = true;
    try {
      await this.startPipeline();
      const result = await this.runWorkloadsAndMeasure();
      failed = false;
      return result;
    } finally {
      // A clean-up failure must not hide the failure that brought us here.
      await this.removeWorkloads().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }

  private async startPipeline(): Promise<void> {
    const p = this.pipeline;
    this.progress(`pipeline ${this.name}: topics, then billing-api, rating and both collectors`);
    await p.prepare();
    await p.startBillingApi({
      TEST_CLOCK_START: this.testClockStart.toISOString(),
      PROVIDER_NAME: 'Metering e2e',
    });
    // Rating must know the tenants and plans before their first sample: register them first.
    for (const t of [this.tenants.a, this.tenants.b]) {
      await p.api('POST', '/v1/tenants', {
        body: { id: t.id, name: t.name, timeZone: t.timeZone, currency: t.currency },
      });
      await p.api('POST', '/v1/price-plans', { body: t.plan });
      // Well before this month: the plan covers the whole month (so does its minimum).
      await p.api('PUT', `/v1/tenants/${t.id}/plan`, {
        body: { planId: t.plan.id, effectiveFrom: '2020-01-01T00:00:00Z' },
      });
      t.apiKey = (await p.api<{ key: string }>('POST', `/v1/tenants/${t.id}/api-keys`)).key;
      this.progress(
        `tenant ${t.id}: ${t.name}, ${t.timeZone}, ${t.currency}, plan ${t.plan.id}` +
          ` (${t.plan.cpu === undefined ? 'memory only' : 'CPU and memory, graduated'})`,
      );
    }
    await p.startRating();
    const collector = { SAMPLE_INTERVAL_MS: '1000', DEFAULT_TENANT: `${this.name}-unlabelled` };
    await p.startDockerCollector({ ...collector, HOST_NAME: `${this.name}-docker-host` });
    await p.startVmCollector({
      ...collector,
      HOST_NAME: `${this.name}-kvm-host`,
      POLL_INTERVAL_MS: '250',
    });
    this.progress(
      `services up; billing API at ${p.billingUrl} (test clock ${this.testClockStart.toISOString()})`,
    );
  }

  private async runWorkloadsAndMeasure(): Promise<ScenarioResult> {
    const o = this.options;
    const { a, b } = this.tenants;
    this.progress(
      `tenant A: 2 CPU burners (--cpus 0.3, 0.2) and a ${o.heldMib} MiB memory holder under /metering/${a.id}`,
    );
    const burn = ['sh', '-c', 'exec yes > /dev/null'];
    await this.containers.start({ role: 'burner-1', cpus: 0.3, command: burn });
    await this.containers.start({ role: 'burner-2', cpus: 0.2, command: burn });
    await this.containers.start({
      role: 'memory-holder',
      cpus: 0.1,
      memoryLimit: `${o.heldMib * 2}m`,
      shmSize: `${o.heldMib + 16}m`,
      command: [
        'sh',
        '-c',
        `dd if=/dev/zero of=/dev/shm/held bs=1M count=${o.heldMib} 2>/dev/null; exec sleep 3600`,
      ],
    });
    this.containers.startSampling(250);
    this.progress(
      `tenant B: KVM domain ${this.domain.name} (1 vCPU capped at 25 %, 128 MiB, no NIC)`,
    );
    await this.domain.start(250);

    const runStart = Date.now();
    const liveDraftStatuses: string[] = [];
    let shortLived: Promise<void> | undefined;
    let nextDraft = runStart + o.draftEverySeconds * 1000;
    while (Date.now() - runStart < o.runSeconds * 1000) {
      const elapsed = (Date.now() - runStart) / 1000;
      if (shortLived === undefined && elapsed >= o.shortLivedAfterSeconds) {
        this.progress(
          `tenant A: a short-lived container, ${o.shortLivedSeconds} s of CPU (--cpus 0.5)`,
        );
        const record = await this.containers.start({
          role: 'short-lived',
          cpus: 0.5,
          command: ['sh', '-c', `timeout ${o.shortLivedSeconds} yes > /dev/null; true`],
        });
        const exited = this.containers.waitExited(record);
        exited.catch(() => undefined); // awaited after the run; no unhandled rejection meanwhile
        shortLived = exited;
      }
      if (o.draftEverySeconds > 0 && Date.now() >= nextDraft) {
        nextDraft += o.draftEverySeconds * 1000;
        for (const t of [a, b]) {
          const draft = await this.invoice(t);
          liveDraftStatuses.push(draft.status);
          this.progress(
            `  ${Math.round(elapsed)} s: live ${draft.status} of ${t.key.toUpperCase()}: ${describeDraft(draft)}`,
          );
        }
      }
      await sleep(250);
    }
    await shortLived;

    this.progress('freezing: tenant A containers killed, the domain paused and destroyed');
    await this.containers.killAll();
    // Counted from here, after every container died (their cgroups are gone by now).
    const cyclesAtDeath = await this.dockerCycles();
    const kernelCpuANs = this.containers.parentCpuNs();
    await this.domain.pauseAndDestroy(1_000);
    const runSeconds = (Date.now() - runStart) / 1000;

    this.progress(
      'waiting until every sample of the run is rated (finals, residual, spools, offsets)',
    );
    const settleProblems = await this.settle(cyclesAtDeath);

    const containers = await this.containers.accounts();
    const domain = this.domain.account();
    const kernelA: KernelAccount = {
      source: `cgroup ${this.containers.parentCgroup}: cpuacct/cpu.stat; working set per container`,
      cpuCoreSeconds: Number(kernelCpuANs) / 1e9,
      memoryGibSeconds: containers.reduce((s, c) => s + c.memoryByteSeconds, 0) / GIB,
    };
    const kernelB: KernelAccount = {
      source: `libvirt cpu.time of ${domain.name}; QEMU VmRSS`,
      cpuCoreSeconds: Number(domain.cpuTimeNs) / 1e9,
      memoryGibSeconds: domain.memoryByteSeconds / GIB,
    };
    const afterCpuANs = this.containers.parentCpuNs();
    if (afterCpuANs !== kernelCpuANs) {
      settleProblems.push(
        `the parent cgroup's counter moved after the freeze: ${kernelCpuANs} → ${afterCpuANs}`,
      );
    }

    this.progress('reading the drafts, the usage API, InfluxDB and the Grafana panels');
    const measured = {
      a: await this.measure(a, kernelA),
      b: await this.measure(b, kernelB),
    };

    const closes: CloseJson[] = [];
    for (const period of [...new Set([a.period, b.period])].sort()) {
      this.progress(`closing ${period} (test clock): final invoices, numbered and hashed`);
      closes.push(await this.pipeline.api<CloseJson>('POST', `/v1/periods/${period}/close`));
    }
    mkdirSync(o.outDirOf(this.name), { recursive: true });
    const outcome = async (t: TenantSetup, other: TenantSetup): Promise<TenantOutcome> => ({
      setup: t,
      ...measured[t.key],
      final: await this.finalDocuments(t),
      access: {
        own: (await this.pipeline.request('GET', this.invoicePath(t), { key: t.apiKey })).status,
        other: (await this.pipeline.request('GET', this.invoicePath(other), { key: t.apiKey }))
          .status,
        admin: (await this.pipeline.request('GET', this.invoicePath(other))).status,
      },
    });
    return {
      name: this.name,
      tenants: { a: await outcome(a, b), b: await outcome(b, a) },
      containers,
      domain,
      liveDraftStatuses,
      settleProblems,
      closes,
      testClockStart: this.testClockStart.toISOString(),
      seconds: { run: runSeconds, total: (Date.now() - this.startedAtMs) / 1000 },
    };
  }

  private invoicePath(t: TenantSetup, format?: 'csv' | 'pdf'): string {
    return `/v1/tenants/${t.id}/invoices/${t.period}${format === undefined ? '' : `?format=${format}`}`;
  }

  private invoice(t: TenantSetup): Promise<InvoiceJson> {
    return this.pipeline.api<InvoiceJson>('GET', this.invoicePath(t));
  }

  private async dockerCycles(): Promise<number> {
    const text = await this.pipeline.metrics('docker-collector');
    return metricValue(text, /^docker_collector_cycle_duration_seconds_count(\{|$)/) ?? 0;
  }

  /**
   * Waits until everything the run produced is in the ledger, by events rather than by time:
   * (1) rating has the final sample of every container of tenant A and of the domain;
   * (2) the docker collector ran 3 cycles after the last container died (the parent's residual
   * is evaluated on the previous cycle's reading, so 2 are needed: ADR 3); (3) both collectors'
   * spools are empty (Kafka acknowledged every sample); (4) rating committed the topic up to its
   * end at that moment. Returns what did not happen in time.
   */
  private async settle(cyclesAtDeath: number): Promise<string[]> {
    const problems: string[] = [];
    const step = async (description: string, probe: () => Promise<boolean>) => {
      await waitFor(probe, { timeoutMs: 60_000, intervalMs: 250, description }).catch(
        (error: unknown) => problems.push(error instanceof Error ? error.message : String(error)),
      );
    };
    const ids = [...this.containers.records.map((r) => r.id), this.domain.uuid];
    await step('final samples of every container and of the domain in the ledger', async () => {
      const rows = await this.pipeline.sql<{ resource_id: string }>(
        'SELECT DISTINCT resource_id FROM instance_state WHERE final AND resource_id = ANY($1)',
        [ids],
      );
      return rows.length === ids.length;
    });
    await step('3 docker-collector cycles after the containers died', async () => {
      return (await this.dockerCycles()) >= cyclesAtDeath + 3;
    });
    await step('both collectors acknowledged by Kafka (spools empty)', async () => {
      const docker = await this.pipeline.metrics('docker-collector');
      const vm = await this.pipeline.metrics('vm-collector');
      return (
        metricValue(docker, /^docker_collector_spool_depth(\{|$)/) === 0 &&
        metricValue(vm, /^vm_collector_publisher_depth(\{|$)/) === 0
      );
    });
    const ends = await this.pipeline.sampleTopicEnds();
    await step('rating committed the samples topic up to its end', () =>
      this.pipeline.ratedUpTo(ends),
    );
    return problems;
  }

  private async measure(
    t: TenantSetup,
    kernel: KernelAccount,
  ): Promise<Omit<TenantOutcome, 'setup' | 'final' | 'access'>> {
    const draft = await this.invoice(t);
    const usage = await this.pipeline.api<UsageJson>(
      'GET',
      `/v1/tenants/${t.id}/usage?from=${draft.periodStart}&to=${draft.periodEnd}&granularity=day`,
    );
    const { resources } = await this.pipeline.api<{ resources: UsageResourceJson[] }>(
      'GET',
      `/v1/tenants/${t.id}/usage?from=${draft.periodStart}&to=${draft.periodEnd}&granularity=day&by=resource`,
    );
    const [ledger] = await this.pipeline.sql<{ amount: string }>(
      'SELECT coalesce(sum(amount), 0)::text AS amount FROM usage_bucket WHERE tenant_id = $1',
      [t.id],
    );
    const ledgerAmount = ledger?.amount ?? '0';
    // InfluxDB is written after each commit, asynchronously: wait (bounded) until it has caught
    // up with the ledger, then keep what it says either way; the spec judges it.
    const expected = {
      cpuCoreSeconds: Number(draft.usageTotals.cpuUsageCoreSeconds),
      memoryGibSeconds: Number(draft.usageTotals.memoryUsageByteSeconds) / GIB,
      amount: Number(ledgerAmount),
    };
    let influx = await this.influxTotals(t);
    await waitFor(
      async () => {
        influx = await this.influxTotals(t);
        return (
          floatClose(influx.cpuCoreSeconds, expected.cpuCoreSeconds) &&
          floatClose(influx.memoryGibSeconds, expected.memoryGibSeconds) &&
          floatClose(influx.amount, expected.amount)
        );
      },
      { timeoutMs: 30_000, intervalMs: 500, description: `InfluxDB totals of ${t.id}` },
    ).catch(() => undefined);
    const panels = await this.panels(t);
    return { kernel, draft, usage, resources, ledgerAmount, influx, panels };
  }

  private async influxTotals(t: TenantSetup): Promise<InfluxTotals> {
    const series = await this.pipeline.influxQL(
      `SELECT sum("cpu_core_seconds") AS "cpu", sum("memory_gib_seconds") AS "memory", sum("amount") AS "amount" FROM "usage" WHERE "tenant" = '${t.id}'`,
    );
    const row = series[0]?.values[0] ?? [];
    return {
      cpuCoreSeconds: Number(row[1] ?? 0),
      memoryGibSeconds: Number(row[2] ?? 0),
      amount: Number(row[3] ?? 0),
    };
  }

  private async panels(t: TenantSetup): Promise<PanelFigures> {
    const dashboard = loadDashboards().find((d) => d.json.uid === 'metering-tenant-usage');
    if (dashboard === undefined) throw new Error('no dashboard metering-tenant-usage');
    const queries = queriesOf(dashboard);
    const sent: string[] = [];
    const variables: Record<string, VariableValue> = {
      tenant: { kind: 'single', value: t.id },
      resource: { kind: 'all', allValue: '.*' },
    };
    const run = async (title: string): Promise<InfluxSeries[]> => {
      const q: DashboardQuery | undefined = queries.find((x) => x.where.includes(`"${title}"`));
      if (q === undefined) throw new Error(`no panel "${title}" on ${dashboard.file}`);
      const text = interpolateInfluxQL(
        q,
        { nowMs: Date.now(), rangeMs: 6 * 3_600_000 },
        variables,
        '1m',
      );
      sent.push(text);
      return this.pipeline.influxQL(text);
    };
    const ofPeriod = (series: InfluxSeries[]): number | null => {
      const value = series.find((s) => s.tags?.period === t.period)?.values.at(-1)?.[1];
      return value === undefined || value === null ? null : Number(value);
    };
    const sum = (series: InfluxSeries[], column = 1): number =>
      series
        .flatMap((s) => s.values.map((row) => Number(row[column] ?? 0)))
        .reduce((x, y) => x + y, 0);
    const top = new Map<string, { cpuHours: number; memoryGibHours: number; charges: number }>();
    for (const s of await run('Top resources')) {
      const resource = s.tags?.resource ?? '';
      const row = s.values[0] ?? [];
      top.set(resource, {
        cpuHours: Number(row[1] ?? 0),
        memoryGibHours: Number(row[2] ?? 0),
        charges: Number(row[3] ?? 0),
      });
    }
    return {
      monthToDateCharges: ofPeriod(await run('Month-to-date charges')),
      monthToDateCpuHours: ofPeriod(await run('Month-to-date CPU')),
      monthToDateMemoryGibHours: ofPeriod(await run('Month-to-date memory')),
      cpuCoreHours: sum(await run('CPU core-hours')),
      memoryGibHours: sum(await run('Memory GiB-hours')),
      charges: sum(await run('Charges')),
      topResources: top,
      queries: sent,
    };
  }

  private async finalDocuments(t: TenantSetup): Promise<FinalDocuments> {
    const json = await this.invoice(t);
    const csv = (await this.pipeline.request('GET', this.invoicePath(t, 'csv'))).text;
    const pdf = await this.pipeline.request('GET', this.invoicePath(t, 'pdf'));
    if (pdf.status !== 200) throw new Error(`PDF of ${t.id}: ${pdf.status} ${pdf.text}`);
    const base = join(this.options.outDirOf(this.name), `${t.id}-${t.period}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(`${base}.csv`, csv);
    writeFileSync(`${base}.pdf`, pdf.buffer);
    return { json, csv, pdfText: await pdfToText(`${base}.pdf`), pdfPath: `${base}.pdf` };
  }

  /** Containers, the parent cgroup and the domain: gone, whatever happened. */
  async removeWorkloads(): Promise<void> {
    const problems: unknown[] = [];
    await this.containers.removeAll().catch((e: unknown) => problems.push(e));
    await this.domain.remove().catch((e: unknown) => problems.push(e));
    if (problems.length > 0)
      throw new AggregateError(problems, `${this.name}: workloads not removed`);
  }

  /** Everything: workloads, services, topics, ledger schema, InfluxDB database, files. */
  async stop(): Promise<void> {
    const problems: unknown[] = [];
    await this.removeWorkloads().catch((e: unknown) => problems.push(e));
    await this.pipeline.stop().catch((e: unknown) => problems.push(e));
    if (problems.length > 0)
      throw new AggregateError(problems, `${this.name}: tear-down incomplete`);
  }
}

/** Equal as InfluxDB's float64 fields can hold a decimal sum: 1e-9 relative. */
export function floatClose(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

function describeDraft(draft: InvoiceJson): string {
  const lines = draft.lines
    .map((l) => `${l.meter} ${l.quantity} ${l.unit} = ${l.amount}`)
    .join(', ');
  return `${lines || 'no lines yet'}; total ${draft.total} ${draft.currency}`;
}
