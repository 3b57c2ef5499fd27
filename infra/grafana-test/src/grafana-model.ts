/**
 * The parts of Grafana's dashboard JSON model that `@grafana/schema` does not type, and the
 * adapter that lets a JSON literal be checked against the types it does ship.
 *
 * `@grafana/schema` (the schema package of the Grafana release we deploy) ships the dashboard
 * model (`Dashboard`, `Panel`, `VariableModel`…) and each core panel plugin's `Options` and
 * `FieldConfig`, as TypeScript types generated from Grafana's CUE schema. It ships no JSON
 * Schema (so ajv has nothing to load) and no types for the InfluxDB and Prometheus query
 * models: `Panel.targets` is `Record<string, unknown>[]`. The targets are typed here instead,
 * after the two datasource plugins' query models (fields the raw InfluxQL and code-mode PromQL
 * editors save), so an unknown or misspelt field fails just as it does for the dashboard.
 */

/** Grafana's common query fields (`DataQuery` of @grafana/schema). */
interface DataQueryBase {
  refId: string;
  datasource?: { type?: string; uid?: string };
  hide?: boolean;
  queryType?: string;
}

/** A raw InfluxQL query of the InfluxDB datasource (`rawQuery: true` keeps `query` as written). */
export interface InfluxQLTarget extends DataQueryBase {
  rawQuery: true;
  query: string;
  resultFormat: 'time_series' | 'table' | 'logs';
  /** `$tag_<key>`, `$col`, `$m` patterns. */
  alias?: string;
}

/** A PromQL query of the Prometheus datasource, written in code mode. */
export interface PromQLTarget extends DataQueryBase {
  expr: string;
  editorMode?: 'code' | 'builder';
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
  intervalFactor?: number;
  exemplar?: boolean;
}

/**
 * A JSON value of type T: the generated types use TypeScript string enums
 * (`ThresholdsMode.Absolute`), which a JSON string such as "absolute" can never be assigned to.
 * This maps every string enum (and string literal union) to the union of its values and keeps
 * everything else, so object literals still get TypeScript's excess property checks.
 */
export type Json<T> = T extends string
  ? string extends T
    ? string
    : `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;
