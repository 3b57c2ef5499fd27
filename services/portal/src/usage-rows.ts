import type { components } from './api/billing-api';
import { hours, hoursValue, localDate, localDateTime, percent } from './format';

type UsageResponse = components['schemas']['UsageResponseDto'];
type Granularity = UsageResponse['granularity'];

/** One row of the usage table: a resource in a bucket, as shown (strings) and as numbers. */
export interface UsageRow {
  readonly start: string;
  readonly time: string;
  readonly resourceId: string;
  readonly name: string;
  readonly kind: string;
  readonly host: string;
  readonly cpuHours: string;
  readonly gibHours: string;
  readonly cpu: number;
  readonly gib: number;
  /** Share of the expected samples present (docs/product.md, "Completeness"), as shown. */
  readonly complete: string;
  /** The same as a number (-1 when not known), for sorting. */
  readonly completeValue: number;
}

export type SortKey = 'time' | 'name' | 'kind' | 'host' | 'cpu' | 'gib' | 'complete';
export interface Sort {
  readonly key: SortKey;
  readonly descending: boolean;
}

/** The resource's label: its name, or its id when no name was recorded. */
export function resourceLabel(r: { id: string; name: string | null }): string {
  return r.name ?? r.id;
}

export function usageRows(usage: UsageResponse): UsageRow[] {
  const resources = new Map((usage.resources ?? []).map((r) => [r.id, r]));
  return usage.items.map((item) => {
    const id = item.resourceId ?? '';
    const r = resources.get(id);
    return {
      start: item.start,
      time: bucketLabel(item.start, usage.granularity, usage.timeZone),
      resourceId: id,
      name: r === undefined ? (item.resourceName ?? id) : resourceLabel(r),
      kind: item.resourceKind ?? r?.kind ?? '',
      host: r?.host ?? '',
      cpuHours: hours(item.cpuCoreSeconds),
      gibHours: hours(item.memoryGibSeconds),
      cpu: hoursValue(item.cpuCoreSeconds),
      gib: hoursValue(item.memoryGibSeconds),
      complete: item.completeness === null ? '—' : percent(item.completeness),
      completeValue: item.completeness === null ? -1 : Number(item.completeness),
    };
  });
}

export function bucketLabel(start: string, granularity: Granularity, timeZone: string): string {
  return granularity === 'day' ? localDate(start, timeZone) : localDateTime(start, timeZone);
}

/** Rows whose resource name, id, kind or host contains the text (case-insensitive). */
export function filterRows(rows: readonly UsageRow[], text: string): UsageRow[] {
  const needle = text.trim().toLowerCase();
  if (needle === '') return [...rows];
  return rows.filter((r) =>
    [r.name, r.resourceId, r.kind, r.host].some((v) => v.toLowerCase().includes(needle)),
  );
}

export function sortRows(rows: readonly UsageRow[], sort: Sort): UsageRow[] {
  const sign = sort.descending ? -1 : 1;
  const value = (r: UsageRow): string | number => {
    switch (sort.key) {
      case 'time':
        return r.start;
      case 'name':
        return r.name.toLowerCase();
      case 'kind':
        return r.kind;
      case 'host':
        return r.host.toLowerCase();
      case 'cpu':
        return r.cpu;
      case 'gib':
        return r.gib;
      case 'complete':
        return r.completeValue;
    }
  };
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.start < b.start ? -1 : a.start > b.start ? 1 : a.resourceId < b.resourceId ? -1 : 1;
  });
}

function csvCell(value: string): string {
  // Quote what needs it; a leading = + - @ would be a formula in a spreadsheet: prefix a quote.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The rows exactly as the table shows them, with the same columns, as CSV (RFC 4180). */
export function rowsCsv(rows: readonly UsageRow[], timeZone: string): string {
  const header = [
    `start (${timeZone})`,
    'resource',
    'resource_id',
    'kind',
    'host',
    'cpu_core_hours',
    'memory_gib_hours',
    'completeness',
  ];
  const lines = [
    header,
    ...rows.map((r) => [
      r.time,
      r.name,
      r.resourceId,
      r.kind,
      r.host,
      r.cpuHours,
      r.gibHours,
      r.complete,
    ]),
  ];
  return lines.map((cells) => cells.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Per resource and bucket: the series a stacked chart draws (hours), largest resources first. */
export interface ChartData {
  readonly times: number[];
  /** `key`: the resource id ('' for the others), so both charts colour a resource alike. */
  readonly series: { readonly key: string; readonly label: string; readonly values: number[] }[];
}

export function chartData(
  rows: readonly UsageRow[],
  meter: 'cpu' | 'gib',
  maxSeries = 8,
): ChartData {
  const times = [...new Set(rows.map((r) => r.start))].sort();
  const index = new Map(times.map((t, i) => [t, i]));
  const byResource = new Map<
    string,
    { key: string; label: string; values: number[]; total: number }
  >();
  for (const r of rows) {
    let s = byResource.get(r.resourceId);
    if (s === undefined) {
      s = { key: r.resourceId, label: r.name, values: times.map(() => 0), total: 0 };
      byResource.set(r.resourceId, s);
    }
    const v = meter === 'cpu' ? r.cpu : r.gib;
    const i = index.get(r.start) ?? 0;
    s.values[i] = (s.values[i] ?? 0) + v;
    s.total += v;
  }
  const ranked = [...byResource.values()].sort((a, b) => b.total - a.total);
  const shown = ranked.slice(0, maxSeries);
  const rest = ranked.slice(maxSeries);
  if (rest.length > 0) {
    shown.push({
      key: '',
      label: rest.length === 1 ? '1 other' : `${rest.length} others`,
      values: times.map((_, i) => rest.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)),
      total: 0,
    });
  }
  return {
    times: times.map((t) => Date.parse(t) / 1000),
    series: shown.map(({ key, label, values }) => ({ key, label, values })),
  };
}
