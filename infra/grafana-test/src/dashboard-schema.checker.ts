import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { type DashboardJson, type PanelJson, panelsOf } from './dashboard.loader';

const PACKAGE_ROOT = join(__dirname, '..', '..');
const MODEL_MODULE = join(PACKAGE_ROOT, 'src', 'grafana-model');

/**
 * Core panel plugins and their schema modules in @grafana/schema (Options, and FieldConfig for
 * those whose fields have custom options). A dashboard using another panel type fails the check
 * until its schema is added here.
 */
const PANEL_SCHEMAS: Readonly<Record<string, { module: string; fieldConfig: boolean }>> = {
  timeseries: {
    module: 'timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.js',
    fieldConfig: true,
  },
  stat: { module: 'stat/panelcfg/x/StatPanelCfg_types.gen.js', fieldConfig: false },
  table: { module: 'table/panelcfg/x/TablePanelCfg_types.gen.js', fieldConfig: true },
  text: { module: 'text/panelcfg/x/TextPanelCfg_types.gen.js', fieldConfig: false },
  bargauge: { module: 'bargauge/panelcfg/x/BarGaugePanelCfg_types.gen.js', fieldConfig: false },
  gauge: { module: 'gauge/panelcfg/x/GaugePanelCfg_types.gen.js', fieldConfig: false },
  piechart: { module: 'piechart/panelcfg/x/PieChartPanelCfg_types.gen.js', fieldConfig: true },
};

const TARGET_TYPES: Readonly<Record<string, string>> = {
  influxdb: 'InfluxQLTarget',
  prometheus: 'PromQLTarget',
};

export interface SchemaInput {
  /** Reported in the errors, e.g. `fleet.json`. */
  readonly name: string;
  /** The file's text, JSON. */
  readonly text: string;
}

const LABEL = '// @where ';

/**
 * Checks dashboard JSON against Grafana's dashboard model by type-checking it: each document
 * becomes a TypeScript module `const dashboard: Json<Dashboard> = <the JSON>` (plus one constant
 * per panel for its plugin's Options and custom FieldConfig, and one per target for its query
 * model), compiled in memory with the TypeScript compiler against @grafana/schema. Object
 * literals get excess property checks, so an unknown field, a missing required one, a wrong
 * type or a value outside an enum is an error, reported with the file and line.
 */
export function checkDashboardSchemas(inputs: readonly SchemaInput[]): string[] {
  const errors: string[] = [];
  const sources = new Map<string, { input: SchemaInput; code: string; jsonStartLine: number }>();
  inputs.forEach((input, i) => {
    let json: DashboardJson;
    try {
      json = JSON.parse(input.text) as DashboardJson;
    } catch (error) {
      errors.push(`${input.name}: not JSON: ${(error as Error).message}`);
      return;
    }
    const { code, jsonStartLine, problems } = moduleFor(input, json);
    errors.push(...problems.map((p) => `${input.name}: ${p}`));
    sources.set(join(PACKAGE_ROOT, 'src', `__dashboard_check_${i}__.ts`), {
      input,
      code,
      jsonStartLine,
    });
  });
  if (sources.size === 0) return errors;

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const virtual = sources.get(fileName);
    return virtual !== undefined
      ? ts.createSourceFile(fileName, virtual.code, languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  };
  host.fileExists = (fileName) => sources.has(fileName) || fileExists(fileName);
  host.readFile = (fileName) => sources.get(fileName)?.code ?? readFile(fileName);

  const program = ts.createProgram([...sources.keys()], options, host);
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...sources.keys()].flatMap((f) => {
      const sf = program.getSourceFile(f);
      return sf === undefined
        ? []
        : [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    }),
  ];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    const virtual = d.file === undefined ? undefined : sources.get(d.file.fileName);
    if (d.file === undefined || virtual === undefined || d.start === undefined) {
      errors.push(`schema check: ${message}`);
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const lines = virtual.code.split('\n');
    if (
      line >= virtual.jsonStartLine &&
      line < virtual.jsonStartLine + lineCount(virtual.input.text)
    ) {
      errors.push(`${virtual.input.name}:${line - virtual.jsonStartLine + 1}: ${message}`);
      continue;
    }
    let label = 'generated check';
    for (let l = line; l >= 0; l -= 1) {
      const text = lines[l] ?? '';
      if (text.startsWith(LABEL)) {
        label = text.slice(LABEL.length);
        break;
      }
    }
    errors.push(`${virtual.input.name}: ${label}: ${message}`);
  }
  return errors;
}

function lineCount(text: string): number {
  return text.split('\n').length;
}

function moduleFor(
  input: SchemaInput,
  json: DashboardJson,
): { code: string; jsonStartLine: number; problems: string[] } {
  const problems: string[] = [];
  const imports = new Map<string, string>();
  const body: string[] = [];
  let n = 0;
  const constant = (where: string, type: string, value: unknown): void => {
    n += 1;
    body.push(
      `${LABEL}${where}`,
      `export const c${n}: Json<${type}> = ${JSON.stringify(value, null, 2)};`,
    );
  };
  for (const panel of Array.isArray(json.panels) ? panelsOf(json) : []) {
    const where = `panel ${String(panel.id)} "${String(panel.title)}"`;
    if (panel.type === 'row') continue;
    const schema = PANEL_SCHEMAS[panel.type];
    if (schema === undefined) {
      problems.push(
        `${where}: panel type "${panel.type}" has no schema in the check (add it to PANEL_SCHEMAS)`,
      );
      continue;
    }
    const alias = `p_${panel.type}`;
    imports.set(alias, `@grafana/schema/dist/esm/raw/composable/${schema.module}`);
    constant(`${where} options`, `${alias}.Options`, panel.options ?? {});
    const custom = panel.fieldConfig?.defaults.custom;
    if (schema.fieldConfig) {
      constant(`${where} fieldConfig.defaults.custom`, `${alias}.FieldConfig`, custom ?? {});
    } else if (custom !== undefined && Object.keys(custom).length > 0) {
      problems.push(`${where}: a ${panel.type} panel has no custom field options`);
    }
    for (const target of targetsOf(panel)) {
      const dsType = target.datasource?.type ?? panel.datasource?.type;
      const type = dsType === undefined ? undefined : TARGET_TYPES[dsType];
      if (type === undefined) {
        problems.push(
          `${where} target ${target.refId}: datasource type "${String(dsType)}" is neither influxdb nor prometheus`,
        );
        continue;
      }
      constant(`${where} target ${target.refId}`, type, target);
    }
  }
  const head = [
    `import type { Dashboard } from '@grafana/schema';`,
    `import type { Json, InfluxQLTarget, PromQLTarget } from ${JSON.stringify(MODEL_MODULE)};`,
    ...[...imports].map(
      ([alias, module]) => `import type * as ${alias} from ${JSON.stringify(module)};`,
    ),
    `${LABEL}the dashboard`,
    `export const dashboard: Json<Dashboard> =`,
  ];
  const code = [...head, input.text.trimEnd() + ';', ...body, ''].join('\n');
  return { code, jsonStartLine: head.length, problems };
}

function targetsOf(panel: PanelJson): NonNullable<PanelJson['targets']> {
  return Array.isArray(panel.targets) ? panel.targets : [];
}

/** The schema package must be the one of the Grafana release we deploy (docker-compose.yml). */
export function grafanaSchemaVersion(): string {
  const file = require.resolve('@grafana/schema/package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
