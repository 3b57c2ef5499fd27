import { type ServicePipeline } from '@metering/pipeline-harness';
import { waitFor } from '@metering/testing';
import { type UsageJson, type UsageResourceJson } from '../billing-documents';
import { readInvoice } from './billing.observer';
import { tenantPanels } from './grafana-panels.observer';
import { GIB } from './scenario-tenants';
import {
  type InfluxTotals,
  type KernelAccount,
  type TenantMeasurement,
  type TenantSetup,
} from './scenario.types';

/** Equal as InfluxDB's float64 fields can hold a decimal sum: 1e-9 relative. */
export function floatClose(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

/**
 * What every reader of the rated usage says of `t` once the run has settled: the draft, the
 * usage API (totals and by resource), the ledger's Σ amount, InfluxDB and the Grafana panels.
 */
export async function measureTenant(
  pipeline: ServicePipeline,
  t: TenantSetup,
  kernel: KernelAccount,
): Promise<TenantMeasurement> {
  const draft = await readInvoice(pipeline, t);
  const usage = await pipeline.api<UsageJson>(
    'GET',
    `/v1/tenants/${t.id}/usage?from=${draft.periodStart}&to=${draft.periodEnd}&granularity=day`,
  );
  const { resources } = await pipeline.api<{ resources: UsageResourceJson[] }>(
    'GET',
    `/v1/tenants/${t.id}/usage?from=${draft.periodStart}&to=${draft.periodEnd}&granularity=day&by=resource`,
  );
  const [ledger] = await pipeline.sql<{ amount: string }>(
    'SELECT coalesce(sum(amount), 0)::text AS amount FROM usage_bucket_charge WHERE tenant_id = $1',
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
  let influx = await influxTotals(pipeline, t);
  await waitFor(
    async () => {
      influx = await influxTotals(pipeline, t);
      return (
        floatClose(influx.cpuCoreSeconds, expected.cpuCoreSeconds) &&
        floatClose(influx.memoryGibSeconds, expected.memoryGibSeconds) &&
        floatClose(influx.amount, expected.amount)
      );
    },
    { timeoutMs: 30_000, intervalMs: 500, description: `InfluxDB totals of ${t.id}` },
  ).catch(() => undefined);
  const panels = await tenantPanels(pipeline, t);
  return { kernel, draft, usage, resources, ledgerAmount, influx, panels };
}

async function influxTotals(pipeline: ServicePipeline, t: TenantSetup): Promise<InfluxTotals> {
  const series = await pipeline.influxQL(
    `SELECT sum("cpu_core_seconds") AS "cpu", sum("memory_gib_seconds") AS "memory", sum("amount") AS "amount" FROM "usage" WHERE "tenant" = '${t.id}'`,
  );
  const row = series[0]?.values[0] ?? [];
  return {
    cpuCoreSeconds: Number(row[1] ?? 0),
    memoryGibSeconds: Number(row[2] ?? 0),
    amount: Number(row[3] ?? 0),
  };
}
