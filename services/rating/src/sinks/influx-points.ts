import { Point } from '@influxdata/influxdb-client';
import {
  type MonthPosition,
  type RatedInterval,
  type ResourceGauge,
  amount,
  coreSeconds,
  gibSeconds,
} from '../domain';
import { NO_COUNTERS, completenessShare, shareToNumber } from '@metering/pricing';
import { type BucketTotals } from '../ledger/ledger-rows';

/**
 * The InfluxDB schema of rating (README, "InfluxDB"). Every point is keyed by series and
 * timestamp, and its fields are running totals or readings, never increments: writing a point
 * again (a retry, a replay, a backfill) overwrites it with the same or a newer value.
 *
 * - `usage` (tenant, resource, kind) at the bucket's start: the bucket's running totals from the
 *   ledger: cpu_core_seconds, memory_gib_seconds (usage basis), amount (charges, plan currency),
 *   completeness (the share of expected samples present, libs/pricing completeness.ts).
 * - `charges` (tenant, period, currency) at the start of the billing month: month-to-date
 *   charges (amount, cpu_amount, memory_amount) and priced quantities.
 * - `resource` (tenant, resource, kind, host, name) per resource and committed batch, at its
 *   latest sample: cpu_cores (the average since the resource's previous point), memory_bytes (the
 *   latest reading), memory_peak_bytes (the highest reading since the previous point). Raw
 *   gauges: not in the ledger, so not restored by the backfill. `name` (absent when the collector gave none) adds a series
 *   only when a resource is renamed: the resource id is a tag already (docs/product.md). The
 *   summed `usage` totals carry no name: a rename inside a bucket would split its running total
 *   over two series and a sum over them would count it twice.
 *
 * Float fields: InfluxDB has no decimal type; the ledger keeps the exact figures.
 */
export interface InfluxPoint {
  /**
   * Series and timestamp: a later point with the same key replaces an earlier one in the sink's
   * buffer. null for points written once (raw gauges), which need no such bookkeeping.
   */
  readonly key: string | null;
  readonly line: string;
}

const MS = {
  convertTime: (t: string | number | Date | undefined) => (t === undefined ? undefined : String(t)),
};
const GIB = 2 ** 30;

function toPoint(point: Point, key: string): InfluxPoint {
  const line = point.toLineProtocol(MS);
  if (line === undefined) throw new Error(`point ${key} has no fields`);
  return { key, line };
}

export function usagePoint(b: BucketTotals): InfluxPoint {
  const key = `u\u0000${b.tenantId}\u0000${b.resourceId}\u0000${b.bucketStartMs}`;
  const amount = Number(b.amount);
  const completeness = completenessOf(b);
  const cpu = Number(b.cpuUsageCoreSeconds);
  const memory = Number(b.memoryUsageByteSeconds) / GIB;
  // Point refuses what is not finite (and says so); the fast path writes only what it accepts.
  if (![amount, completeness, cpu, memory].every(Number.isFinite)) return usagePointViaPoint(b);
  // Per bucket and batch: the series part is cached per resource, fields written as Point would
  // (sorted, floats as String(n)); the spec holds it to usagePointViaPoint.
  const prefix = seriesPrefix(
    `u\u0000${b.resourceId}\u0000${b.tenantId}\u0000${b.resourceKind}`,
    'usage',
    [
      ['tenant', b.tenantId],
      ['resource', b.resourceId],
      ['kind', b.resourceKind],
    ],
  );
  return {
    key,
    line: `${prefix} amount=${String(amount)},completeness=${String(completeness)},cpu_core_seconds=${String(cpu)},memory_gib_seconds=${String(memory)} ${b.bucketStartMs}`,
  };
}

/**
 * The bucket's completeness as the one definition reads it (libs/pricing completeness.ts); an
 * instant-only bucket (no duration yet) has nothing missing.
 */
function completenessOf(b: BucketTotals): number {
  const share = completenessShare(
    b.completeness ?? {
      ...NO_COUNTERS,
      observedMs: BigInt(b.observedMs),
      gapMs: BigInt(b.gapMs),
    },
  );
  return share === null ? 1 : shareToNumber(share);
}

/** The usage point built through Point: the reference usagePoint is held to. */
export function usagePointViaPoint(b: BucketTotals): InfluxPoint {
  const point = new Point('usage')
    .tag('tenant', b.tenantId)
    .tag('resource', b.resourceId)
    .tag('kind', b.resourceKind)
    .floatField('cpu_core_seconds', Number(b.cpuUsageCoreSeconds))
    .floatField('memory_gib_seconds', Number(b.memoryUsageByteSeconds) / GIB)
    .floatField('amount', Number(b.amount))
    .floatField('completeness', completenessOf(b))
    .timestamp(b.bucketStartMs);
  return toPoint(point, `u\u0000${b.tenantId}\u0000${b.resourceId}\u0000${b.bucketStartMs}`);
}

export function chargesPoint(
  position: MonthPosition,
  currency: string,
  periodStartMs: number,
): InfluxPoint {
  const cpuAmount = Number(amount(position.cpuAmount));
  const memoryAmount = Number(amount(position.memoryAmount));
  const point = new Point('charges')
    .tag('tenant', position.tenantId)
    .tag('period', position.period)
    .tag('currency', currency)
    .floatField('amount', Number(amount(position.cpuAmount + position.memoryAmount)))
    .floatField('cpu_amount', cpuAmount)
    .floatField('memory_amount', memoryAmount)
    .floatField('cpu_core_seconds', Number(coreSeconds(position.cpu)))
    .floatField('memory_gib_seconds', Number(gibSeconds(position.memory)))
    .timestamp(periodStartMs);
  return toPoint(point, `c\u0000${position.tenantId}\u0000${position.period}`);
}

const PLACEHOLDER_FIELD = '__series_end';
const PLACEHOLDER = ` ${PLACEHOLDER_FIELD}=0`;
const seriesPrefixes = new Map<string, string>();

/**
 * Measurement and tags of a series as Point writes them (escaped, sorted), computed once per
 * series: a point per bucket and batch would otherwise build and serialise a Point each time.
 * `cacheKey` identifies the tag values. (The raw gauges keep theirs per resource: resourcePrefix.)
 */
function seriesPrefix(
  cacheKey: string,
  measurement: string,
  tags: readonly (readonly [string, string])[],
): string {
  let prefix = seriesPrefixes.get(cacheKey);
  if (prefix === undefined) {
    prefix = buildSeriesPrefix(measurement, tags);
    if (seriesPrefixes.size > 100_000) seriesPrefixes.clear();
    seriesPrefixes.set(cacheKey, prefix);
  }
  return prefix;
}

/** Measurement and tags as Point writes them, without caching. */
function buildSeriesPrefix(
  measurement: string,
  tags: readonly (readonly [string, string])[],
): string {
  const point = new Point(measurement).floatField(PLACEHOLDER_FIELD, 0);
  for (const [k, v] of tags) point.tag(k, v);
  const line = point.toLineProtocol(MS) ?? '';
  return line.slice(0, line.lastIndexOf(PLACEHOLDER));
}

/**
 * The raw gauge line of a resource over a batch: exactly the line Point writes (fields sorted,
 * floats as String(n)), with the series part cached. Written once, so not keyed for replacement.
 * `cpu_cores`: the CPU of the intervals over their time (an average; absent when they are all
 * instants); `memory_bytes`: the latest reading; `memory_peak_bytes`: the highest one.
 */
export function resourcePoint(g: ResourceGauge): InfluxPoint {
  const { sample } = g;
  const prefix = resourcePrefix(sample);
  const memory = `memory_bytes=${String(Number(sample.memoryUsageBytes))},memory_peak_bytes=${String(g.peakMemoryBytes)}`;
  // ns / (ms × 10^6) = cores; an instant has no rate.
  const fields =
    g.durationMs > 0 ? `cpu_cores=${String(g.cpuNs / (g.durationMs * 1e6))},${memory}` : memory;
  return { key: null, line: `${prefix} ${fields} ${sample.observedAtMs}` };
}

interface ResourceSeries {
  readonly host: string;
  readonly tenantId: string;
  readonly resourceKind: string;
  readonly name: string;
  readonly prefix: string;
}
const resourceSeries = new Map<string, ResourceSeries>();

/**
 * The series part of a resource's gauges, remembered per resource id with the tag values it was
 * made from (a resource keeps its kind; its tenant may change, relabelled, and its host and name
 * may too): found without building a key string per sample.
 */
function resourcePrefix(sample: RatedInterval['sample']): string {
  const name = sample.name ?? '';
  const known = resourceSeries.get(sample.resourceId);
  if (
    known !== undefined &&
    known.host === sample.host &&
    known.tenantId === sample.tenantId &&
    known.resourceKind === sample.resourceKind &&
    known.name === name
  ) {
    return known.prefix;
  }
  // Cached here only (one entry per resource, as many as the sink remembered before).
  const prefix = buildSeriesPrefix(
    'resource',
    name === ''
      ? [
          ['tenant', sample.tenantId],
          ['resource', sample.resourceId],
          ['kind', sample.resourceKind],
          ['host', sample.host],
        ]
      : [
          ['tenant', sample.tenantId],
          ['resource', sample.resourceId],
          ['kind', sample.resourceKind],
          ['host', sample.host],
          ['name', name],
        ],
  );
  if (resourceSeries.size > 100_000) resourceSeries.clear();
  resourceSeries.set(sample.resourceId, {
    host: sample.host,
    tenantId: sample.tenantId,
    resourceKind: sample.resourceKind,
    name,
    prefix,
  });
  return prefix;
}

/** The same gauge built through Point: the reference resourcePoint is held to. */
export function resourcePointViaPoint(g: ResourceGauge): string | undefined {
  const { sample } = g;
  const point = new Point('resource')
    .tag('tenant', sample.tenantId)
    .tag('resource', sample.resourceId)
    .tag('kind', sample.resourceKind)
    .tag('host', sample.host)
    .floatField('memory_bytes', Number(sample.memoryUsageBytes))
    .floatField('memory_peak_bytes', g.peakMemoryBytes);
  if (sample.name !== undefined && sample.name !== '') point.tag('name', sample.name);
  if (g.durationMs > 0) point.floatField('cpu_cores', g.cpuNs / (g.durationMs * 1e6));
  return point.timestamp(sample.observedAtMs).toLineProtocol(MS);
}
