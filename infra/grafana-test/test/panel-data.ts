// Runs the dashboards' queries as Grafana would, against this run's InfluxDB database and
// Prometheus, waiting (up to DATA_TIMEOUT_MS) until they return data.
import {
  type InfluxSeries,
  type PromSeries,
  influxQL,
  influxRowsWithData,
  promFiniteValues,
  promQL,
} from '@metering/pipeline-harness';
import { localInfra, waitFor } from '@metering/testing';
import { type DashboardQuery } from '../src/dashboard.loader';
import {
  type VariableValue,
  interpolateInfluxQL,
  interpolatePromQL,
} from '../src/grafana-variables';

export type Variables = Readonly<Record<string, VariableValue>>;
export const RANGE_MS = 3 * 3_600_000;
export const DATA_TIMEOUT_MS = 90_000;

/** Where this run's data is: the InfluxDB database rating writes and the Prometheus scraping it. */
export interface PanelSources {
  readonly influxDatabase: string;
  readonly prometheusUrl: string;
}

export function panelData(world: PanelSources) {
  function runInflux(q: DashboardQuery, variables: Variables): Promise<InfluxSeries[]> {
    const text = interpolateInfluxQL(q, { nowMs: Date.now(), rangeMs: RANGE_MS }, variables, '1m');
    return influxQL(localInfra.influxUrl, world.influxDatabase, text);
  }

  /** Waits until the query returns rows with data; fails naming the panel and the query. */
  async function influxData(q: DashboardQuery, variables: Variables): Promise<InfluxSeries[]> {
    let last: InfluxSeries[] = [];
    try {
      return await waitFor(
        async () => {
          last = await runInflux(q, variables);
          return influxRowsWithData(last) > 0 ? last : undefined;
        },
        { timeoutMs: DATA_TIMEOUT_MS, intervalMs: 500, description: `${q.dashboard} ${q.where}` },
      );
    } catch (error) {
      const text = interpolateInfluxQL(
        q,
        { nowMs: Date.now(), rangeMs: RANGE_MS },
        variables,
        '1m',
      );
      throw new Error(
        `${q.dashboard} ${q.where} returned no data: ${text} → ${JSON.stringify(last)}`,
        {
          cause: error,
        },
      );
    }
  }

  function runProm(q: DashboardQuery): Promise<PromSeries[]> {
    const expr = interpolatePromQL(q, { interval: '2s', rateInterval: '1m', rangeMs: 60_000 });
    const nowS = Math.floor(Date.now() / 1000);
    return promQL(
      world.prometheusUrl,
      expr,
      q.instant ? { timeS: nowS } : { startS: nowS - 60, endS: nowS, stepS: 2 },
    );
  }

  async function promData(q: DashboardQuery): Promise<PromSeries[]> {
    let last: PromSeries[] = [];
    try {
      return await waitFor(
        async () => {
          last = await runProm(q);
          return promFiniteValues(last).length > 0 ? last : undefined;
        },
        { timeoutMs: DATA_TIMEOUT_MS, intervalMs: 1_000, description: `${q.dashboard} ${q.where}` },
      );
    } catch (error) {
      throw new Error(
        `${q.dashboard} ${q.where} returned no data: ${q.text} → ${JSON.stringify(last)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** A variable query's values (its second column). */
  function values(series: readonly InfluxSeries[]): string[] {
    return series.flatMap((s) => s.values.map((row) => String(row[1])));
  }

  /**
   * Waits until a variable query lists every expected value: each host's samples reach InfluxDB
   * when rating commits their batch, up to RATING_BATCH_WINDOW_MS apart from one another.
   */
  async function listing(
    q: DashboardQuery,
    variables: Variables,
    expected: readonly string[],
  ): Promise<string[]> {
    let seen: string[] = [];
    await waitFor(
      async () => {
        seen = values(await runInflux(q, variables));
        return expected.every((v) => seen.includes(v)) ? true : undefined;
      },
      {
        timeoutMs: DATA_TIMEOUT_MS,
        intervalMs: 500,
        description: `${q.where}: ${expected.join()}`,
      },
    ).catch((error: unknown) => {
      throw new Error(`${q.where} lists ${seen.join()}, not all of ${expected.join()}`, {
        cause: error,
      });
    });
    return seen;
  }

  return { runInflux, influxData, runProm, promData, listing };
}
