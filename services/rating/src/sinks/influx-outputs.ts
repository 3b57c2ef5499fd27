import { periodBounds } from '@metering/pricing';
import { type Logger, createLogger } from '@metering/observability';
import { type MonthPosition } from '../domain';
import { type CommittedBatch, type CommittedBatchSink } from '../consuming/sample-batch.processor';
import { type TenantCatalog } from '../pricing/tenant-catalog';
import { type InfluxPoint, chargesPoint, resourcePoint, usagePoint } from './influx-points';
import { type InfluxSink } from './influx.sink';

/** Turns what a batch committed into InfluxDB points and queues them (never throws). */
export class InfluxOutputs implements CommittedBatchSink {
  private readonly logger: Logger;

  constructor(
    private readonly sink: InfluxSink,
    private readonly catalog: TenantCatalog,
    private readonly resourceGauges: boolean,
    rootLogger: Logger,
  ) {
    this.logger = createLogger('InfluxOutputs', { parent: rootLogger });
  }

  committed(batch: CommittedBatch): void {
    try {
      const points: InfluxPoint[] = [];
      for (const b of batch.buckets) points.push(usagePoint(b));
      for (const p of batch.positions) points.push(chargesPointOf(p, this.catalog));
      // Raw gauges per resource and batch, not per sample (docs/product.md).
      if (this.resourceGauges) {
        for (const g of batch.gauges) points.push(resourcePoint(g));
      }
      this.sink.enqueue(points);
    } catch (error) {
      // The ledger has committed; a point that cannot be built is the backfill's to redo.
      this.logger.error({ err: error }, 'could not build InfluxDB points for a committed batch');
    }
  }
}

/** The month-to-date charges point of a position, in the currency of the plan that prices it. */
export function chargesPointOf(
  position: MonthPosition,
  catalog: Pick<TenantCatalog, 'zoneOf' | 'pricing'>,
): InfluxPoint {
  const bounds = periodBounds(position.period, catalog.zoneOf(position.tenantId));
  const plan =
    catalog.pricing.planAt(position.tenantId, bounds.endMs - 1) ??
    catalog.pricing.planAt(position.tenantId, bounds.startMs);
  const currency = plan?.currency ?? catalog.pricing.currencyOf(position.tenantId);
  return chargesPoint(position, currency, bounds.startMs);
}

/** When InfluxDB is off. */
export const NO_INFLUX: CommittedBatchSink = { committed: () => undefined };
