import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..', '..');
const GRAFANA_DIR = join(REPO_ROOT, 'infra', 'grafana');
const DASHBOARDS_DIR = join(GRAFANA_DIR, 'dashboards');
export const PROVISIONING_DIR = join(GRAFANA_DIR, 'provisioning');

/** A datasource reference as dashboards store it. */
export interface DataSourceRefJson {
  type?: string;
  uid?: string;
}

/**
 * The fields of a dashboard these tests read. The whole document is checked against Grafana's
 * schema by DashboardSchemaChecker; these shapes only name what is used afterwards.
 */
export interface TargetJson {
  refId: string;
  datasource?: DataSourceRefJson;
  query?: string;
  expr?: string;
  instant?: boolean;
  range?: boolean;
  resultFormat?: string;
}

export interface PanelJson {
  id: number;
  type: string;
  title: string;
  datasource?: DataSourceRefJson;
  targets?: TargetJson[];
  interval?: string;
  timeFrom?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  options?: Record<string, unknown>;
  fieldConfig?: { defaults: { custom?: Record<string, unknown> }; overrides: unknown[] };
  panels?: PanelJson[];
}

export interface VariableJson {
  name: string;
  type: string;
  datasource?: DataSourceRefJson;
  query?: string | Record<string, unknown>;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

export interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: PanelJson[];
  templating?: { list?: VariableJson[] };
}

export interface LoadedDashboard {
  readonly file: string;
  readonly text: string;
  readonly json: DashboardJson;
}

/** Every dashboard JSON file of infra/grafana/dashboards (or another folder), sorted by name. */
export function loadDashboards(dir: string = DASHBOARDS_DIR): LoadedDashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return { file, text, json: JSON.parse(text) as DashboardJson };
    });
}

/** Panels including those nested in collapsed rows. */
export function panelsOf(d: DashboardJson): PanelJson[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export type QueryLanguage = 'influxql' | 'promql';

/** One query a dashboard runs: a panel target or a query variable. */
export interface DashboardQuery {
  readonly dashboard: string;
  /** `panel 3 "CPU by host" A` or `variable $tenant`. */
  readonly where: string;
  readonly language: QueryLanguage;
  readonly datasource: DataSourceRefJson | undefined;
  readonly text: string;
  /** The panel's minimum interval ($__interval is never below it). */
  readonly interval: string | undefined;
  /** The panel's relative time override (`5m`: the last five minutes). */
  readonly timeFrom: string | undefined;
  readonly instant: boolean;
  readonly isVariable: boolean;
}

function languageOf(ds: DataSourceRefJson | undefined): QueryLanguage | undefined {
  if (ds?.type === 'influxdb') return 'influxql';
  if (ds?.type === 'prometheus') return 'promql';
  return undefined;
}

/** Every query of a dashboard, panel targets first, then query variables. */
export function queriesOf(d: LoadedDashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const panel of panelsOf(d.json)) {
    for (const target of panel.targets ?? []) {
      const datasource = target.datasource ?? panel.datasource;
      const language = languageOf(datasource);
      const text = language === 'promql' ? target.expr : target.query;
      if (language === undefined || text === undefined) {
        throw new Error(
          `${d.file}: panel ${panel.id} "${panel.title}" target ${target.refId} has no InfluxQL query or PromQL expr`,
        );
      }
      out.push({
        dashboard: d.file,
        where: `panel ${panel.id} "${panel.title}" ${target.refId}`,
        language,
        datasource,
        text,
        interval: panel.interval,
        timeFrom: panel.timeFrom,
        instant: target.instant === true && target.range !== true,
        isVariable: false,
      });
    }
  }
  for (const v of d.json.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const language = languageOf(v.datasource);
    if (language === undefined || typeof v.query !== 'string') {
      throw new Error(`${d.file}: variable $${v.name} has no InfluxQL or PromQL query string`);
    }
    out.push({
      dashboard: d.file,
      where: `variable $${v.name}`,
      language,
      datasource: v.datasource,
      text: v.query,
      interval: undefined,
      timeFrom: undefined,
      instant: true,
      isVariable: true,
    });
  }
  return out;
}
