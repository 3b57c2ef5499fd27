import { Point } from '@influxdata/influxdb-client';
import { type MonthPosition, type RatedInterval, amount, coreSeconds, gibSeconds } from '../domain';
import { type BucketTotals } from '../ledger/ledger.repository';

/**
 * The InfluxDB schema of rating (README, "InfluxDB"). Every point is keyed by series and
 * timestamp, and its fields are running totals or readings, never increments: writing a point
 * again (a retry, a replay, a backfill) overwrites it with the same or a newer value.
 *
 * - `usage` (tenant, resource, kind) at the bucket's start: the bucket's running totals from the
 *   ledger: cpu_core_seconds, memory_gib_seconds (usage basis), amount (charges, plan currency),
 *   completeness (share of the bucket's rated time covered by samples rather than gaps).
 * - `charges` (tenant, period, currency) at the start of the billing month: month-to-date
 *   charges (amount, cpu_amount, memory_amount) and priced quantities.
 * - `resource` (tenant, resource, kind, host) at each sample: cpu_cores (average between the
 *   sample and the one before), memory_bytes (the reading). Raw gauges: not in the ledger, so
 *   not restored by the backfill.
 *
 * Float fields: InfluxDB has no decimal type; the ledger keeps the exact figures.
 */
export interface InfluxPoint {
  /** Series and timestamp: a later point with the same key replaces an earlier one. */
  readonly key: string;
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
  const covered = b.observedMs + b.gapMs;
  const point = new Point('usage')
    .tag('tenant', b.tenantId)
    .tag('resource', b.resourceId)
    .tag('kind', b.resourceKind)
    .floatField('cpu_core_seconds', Number(b.cpuUsageCoreSeconds))
    .floatField('memory_gib_seconds', Number(b.memoryUsageByteSeconds) / GIB)
    .floatField('amount', Number(b.amount))
    // An instant-only bucket (no duration yet) has nothing missing.
    .floatField('completeness', covered === 0 ? 1 : b.observedMs / covered)
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

export function resourcePoint(r: RatedInterval): InfluxPoint {
  const { sample, interval } = r;
  const point = new Point('resource')
    .tag('tenant', sample.tenantId)
    .tag('resource', sample.resourceId)
    .tag('kind', sample.resourceKind)
    .tag('host', sample.host)
    .floatField('memory_bytes', Number(sample.memoryUsageBytes));
  const durationMs = interval.toMs - interval.fromMs;
  // ns / (ms × 10^6) = cores; an instant has no rate.
  if (durationMs > 0)
    point.floatField('cpu_cores', Number(interval.cpuUsageNs) / (durationMs * 1e6));
  point.timestamp(sample.observedAtMs);
  return toPoint(
    point,
    `r\u0000${sample.tenantId}\u0000${sample.resourceId}\u0000${sample.host}\u0000${sample.observedAtMs}`,
  );
}
