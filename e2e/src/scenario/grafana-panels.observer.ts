import {
  type DashboardQuery,
  type VariableValue,
  interpolateInfluxQL,
  loadDashboards,
  queriesOf,
} from '@metering/grafana-test';
import { type InfluxSeries, type ServicePipeline } from '@metering/pipeline-harness';
import { type PanelFigures, type TenantSetup } from './scenario.types';

/**
 * The "Tenant usage & charges" dashboard's panels for `t`, run as Grafana would run them now:
 * the dashboard's own queries (infra/grafana/dashboards), variables substituted, sent to the
 * pipeline's InfluxDB.
 */
export async function tenantPanels(
  pipeline: ServicePipeline,
  t: TenantSetup,
): Promise<PanelFigures> {
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
    return pipeline.influxQL(text);
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
