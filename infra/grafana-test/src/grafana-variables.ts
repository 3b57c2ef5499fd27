import { type DashboardQuery } from './dashboard.loader';

/** A template variable's selection, as Grafana would hold it. */
export type VariableValue =
  | { readonly kind: 'single'; readonly value: string }
  /** A multi-value or include-all variable: its values, or `all` with the variable's allValue. */
  | { readonly kind: 'multi'; readonly values: readonly string[] }
  | { readonly kind: 'all'; readonly allValue: string };

export interface QueryTime {
  readonly nowMs: number;
  /** The dashboard range: [nowMs - rangeMs, nowMs] unless the panel overrides it. */
  readonly rangeMs: number;
}

const UNITS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Grafana's short durations (`5m`, `1h`, `7d`) in milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  const unit = m?.[2] === undefined ? undefined : UNITS[m[2]];
  if (m === undefined || m === null || unit === undefined) {
    throw new Error(`"${text}" is not a duration such as 30s, 5m, 1h or 7d`);
  }
  return Number(m[1]) * unit;
}

/** The time range a panel queries: its relative override (`timeFrom: "5m"`) or the dashboard's. */
function panelRange(q: DashboardQuery, t: QueryTime): { fromMs: number; toMs: number } {
  const span = q.timeFrom === undefined ? t.rangeMs : durationMs(q.timeFrom);
  return { fromMs: t.nowMs - span, toMs: t.nowMs };
}

/** InfluxQL regex escaping, as Grafana's InfluxDB datasource applies to multi-value variables. */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

function formatted(v: VariableValue): string {
  switch (v.kind) {
    case 'single':
      return v.value;
    case 'all':
      return v.allValue;
    case 'multi':
      return v.values.length === 1
        ? escapeRegex(v.values[0] ?? '')
        : `(${v.values.map(escapeRegex).join('|')})`;
  }
}

/** `$name`, `${name}` and `[[name]]`, longest names first so `$tenant_id` never matches `$tenant`. */
function substitute(text: string, values: ReadonlyMap<string, string>): string {
  let out = text;
  for (const name of [...values.keys()].sort((a, b) => b.length - a.length)) {
    const value = values.get(name) ?? '';
    out = out
      .split(`\${${name}}`)
      .join(value)
      .split(`[[${name}]]`)
      .join(value)
      .replace(
        new RegExp(`\\$${name.replace(/[^A-Za-z0-9_]/g, '')}(?![A-Za-z0-9_])`, 'g'),
        () => value,
      );
  }
  const left = /\$\{?[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]/.exec(out);
  if (left !== null) throw new Error(`unknown variable ${left[0]} in: ${text}`);
  return out;
}

/**
 * A panel's InfluxQL as Grafana sends it: `$timeFilter` becomes the panel's range in epoch
 * milliseconds, `$__interval` the panel's minimum interval (or `fallbackInterval`), and the
 * dashboard variables their formatted values.
 */
export function interpolateInfluxQL(
  q: DashboardQuery,
  t: QueryTime,
  variables: Readonly<Record<string, VariableValue>>,
  fallbackInterval: string,
): string {
  const { fromMs, toMs } = panelRange(q, t);
  const interval = q.interval ?? fallbackInterval;
  const values = new Map<string, string>([
    ['timeFilter', `time >= ${fromMs}ms and time <= ${toMs}ms`],
    ['__interval_ms', String(durationMs(interval))],
    ['__interval', interval],
    ...Object.entries(variables).map(([k, v]): [string, string] => [k, formatted(v)]),
  ]);
  return substitute(q.text, values);
}

/** A panel's PromQL as Grafana sends it, with the interval variables given. */
export function interpolatePromQL(
  q: DashboardQuery,
  intervals: { readonly interval: string; readonly rateInterval: string; readonly rangeMs: number },
  variables: Readonly<Record<string, VariableValue>> = {},
): string {
  const values = new Map<string, string>([
    ['__rate_interval', intervals.rateInterval],
    ['__interval_ms', String(durationMs(intervals.interval))],
    ['__interval', intervals.interval],
    ['__range_s', String(Math.round(intervals.rangeMs / 1000))],
    ['__range', `${Math.round(intervals.rangeMs / 1000)}s`],
    ...Object.entries(variables).map(([k, v]): [string, string] => [k, formatted(v)]),
  ]);
  return substitute(q.text, values);
}
