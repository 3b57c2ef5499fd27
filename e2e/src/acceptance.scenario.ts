import { mkdirSync } from 'node:fs';
import { ServicePipeline } from '@metering/pipeline-harness';
import { type CloseJson } from './billing-documents';
import { CgroupAccounting } from './kernel/cgroup-accounting';
import { accessStatuses, finalDocuments } from './scenario/billing.observer';
import { startPipeline } from './scenario/pipeline.steps';
import { GIB, closableTestClock, scenarioTenants } from './scenario/scenario-tenants';
import {
  type KernelAccount,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioTenants,
  type TenantOutcome,
  type TenantSetup,
} from './scenario/scenario.types';
import { settle } from './scenario/settle.observer';
import { measureTenant } from './scenario/usage.observer';
import {
  type WorkloadParts,
  freezeWorkloads,
  runWorkloads,
  startWorkloads,
} from './scenario/workload.steps';
import { TenantContainers } from './workloads/tenant-containers';
import { TenantDomain } from './workloads/tenant-domain';

/**
 * The acceptance scenario of issue 6, one module for two front-ends (the `npm test` spec and
 * `npm run demo`): the real pipeline (ServicePipeline), two tenants with different plans through
 * the billing API, tenant A's busybox containers (CPU burners with quotas, a memory holder, a
 * short-lived one) under its parent cgroup, tenant B's KVM domain; then freeze, let everything be
 * rated, and gather what the kernel, libvirt, the ledger, the invoices, InfluxDB and the Grafana
 * panels say, close the month (billing-api's test clock) and read the final invoices in JSON,
 * CSV and PDF. It observes; the spec judges and the demo prints.
 *
 * The parts, by responsibility, are in scenario/: its types (scenario.types), fixtures (the
 * tenants and the test clock: scenario-tenants), steps (pipeline.steps, workload.steps) and
 * observers (settle, usage, grafana-panels, billing); this class runs them in order.
 */
export class AcceptanceScenario {
  readonly pipeline = new ServicePipeline('e2e');
  readonly name = this.pipeline.name;
  readonly tenants: ScenarioTenants;
  readonly testClockStart: Date;
  private readonly cgroups = CgroupAccounting.detect();
  readonly containers: TenantContainers;
  readonly domain: TenantDomain;
  private readonly startedAtMs = Date.now();

  constructor(private readonly options: ScenarioOptions) {
    this.tenants = scenarioTenants(this.name, this.startedAtMs);
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
      await startPipeline(this.pipeline, this.tenants, this.testClockStart, (line) =>
        this.progress(line),
      );
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

  private async runWorkloadsAndMeasure(): Promise<ScenarioResult> {
    const o = this.options;
    const { a, b } = this.tenants;
    const parts: WorkloadParts = {
      pipeline: this.pipeline,
      tenants: this.tenants,
      containers: this.containers,
      domain: this.domain,
      options: o,
    };
    await startWorkloads(parts);
    const runStart = Date.now();
    const liveDraftStatuses = await runWorkloads(parts, runStart);
    const { cyclesAtDeath, kernelCpuANs } = await freezeWorkloads(parts);
    const runSeconds = (Date.now() - runStart) / 1000;

    this.progress(
      'waiting until every sample of the run is rated (finals, residual, spools, offsets)',
    );
    const settleProblems = await settle(
      this.pipeline,
      [...this.containers.records.map((r) => r.id), this.domain.uuid],
      cyclesAtDeath,
    );

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
      a: await measureTenant(this.pipeline, a, kernelA),
      b: await measureTenant(this.pipeline, b, kernelB),
    };

    const closes: CloseJson[] = [];
    for (const period of [...new Set([a.period, b.period])].sort()) {
      this.progress(`closing ${period} (test clock): final invoices, numbered and hashed`);
      closes.push(await this.pipeline.api<CloseJson>('POST', `/v1/periods/${period}/close`));
    }
    const outDir = o.outDirOf(this.name);
    mkdirSync(outDir, { recursive: true });
    const outcome = async (t: TenantSetup, other: TenantSetup): Promise<TenantOutcome> => ({
      setup: t,
      ...measured[t.key],
      final: await finalDocuments(this.pipeline, t, outDir),
      access: await accessStatuses(this.pipeline, t, other),
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
