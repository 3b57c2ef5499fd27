/** One series of an InfluxQL answer (InfluxDB 1.x /query, epoch=ms). */
export interface InfluxSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** InfluxQL through /query, as Grafana's InfluxDB datasource sends it (POST); errors thrown. */
export async function influxQL(url: string, db: string, q: string): Promise<InfluxSeries[]> {
  const body = new URLSearchParams({ q, db, epoch: 'ms' });
  const response = await fetch(`${url}/query`, { method: 'POST', body });
  const json = (await response.json()) as {
    results?: { error?: string; series?: InfluxSeries[] }[];
    error?: string;
  };
  const error = json.error ?? json.results?.find((r) => r.error !== undefined)?.error;
  if (!response.ok || error !== undefined) {
    throw new Error(`InfluxQL error: ${error ?? response.status} in: ${q}`);
  }
  return json.results?.flatMap((r) => r.series ?? []) ?? [];
}

/** Rows of an InfluxQL answer that hold at least one value besides the time. */
export function influxRowsWithData(series: readonly InfluxSeries[]): number {
  let rows = 0;
  for (const s of series) {
    const valueColumns = s.columns.map((c, i) => (c === 'time' ? -1 : i)).filter((i) => i >= 0);
    for (const row of s.values) {
      if (valueColumns.some((i) => row[i] !== null && row[i] !== undefined && row[i] !== ''))
        rows += 1;
    }
  }
  return rows;
}

export interface PromSeries {
  metric: Record<string, string>;
  /** Range queries. */
  values?: [number, string][];
  /** Instant queries. */
  value?: [number, string];
}

/** PromQL through the HTTP API: a range query (as a time series panel runs it) or an instant one. */
export async function promQL(
  url: string,
  expr: string,
  range: { startS: number; endS: number; stepS: number } | { timeS: number },
): Promise<PromSeries[]> {
  const params = new URLSearchParams({ query: expr });
  let path = '/api/v1/query';
  if ('timeS' in range) {
    params.set('time', String(range.timeS));
  } else {
    path = '/api/v1/query_range';
    params.set('start', String(range.startS));
    params.set('end', String(range.endS));
    params.set('step', String(range.stepS));
  }
  const response = await fetch(`${url}${path}`, { method: 'POST', body: params });
  const json = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: PromSeries[] };
  };
  if (json.status !== 'success')
    throw new Error(`PromQL error: ${json.error ?? response.status} in: ${expr}`);
  return json.data?.result ?? [];
}

/** Finite values of a PromQL answer (NaN, e.g. a quantile of no observations, is no data). */
export function promFiniteValues(series: readonly PromSeries[]): number[] {
  return series
    .flatMap((s) => [...(s.values ?? []), ...(s.value === undefined ? [] : [s.value])])
    .map(([, v]) => Number(v))
    .filter((v) => Number.isFinite(v));
}

/** The value of one Prometheus series in a /metrics text (name and labels by regex), or null. */
export function metricValue(text: string, series: RegExp): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && series.test(line.slice(0, space))) return Number(line.slice(space + 1));
  }
  return null;
}
