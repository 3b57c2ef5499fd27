import { periodBounds } from '@metering/pricing';
import { type Logger, backoffDelay, createLogger } from '@metering/observability';
import { type BackfillReader } from '../ledger/backfill.reader';
import { type TenantCatalog } from '../pricing/tenant-catalog';
import { chargesPointOf } from './influx-outputs';
import { type InfluxPoint, usagePoint } from './influx-points';
import { InfluxWriteError, type LineWriter } from './influx.writer';

export interface BackfillRange {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface BackfillProgress {
  /** Buckets in the range, and how many were written so far. */
  start(totalBuckets: number): void;
  advance(buckets: number, points: number): void;
  stop(): void;
}

export interface BackfillOptions {
  readonly pageSize: number;
  /** Attempts per write request before the backfill gives up. */
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
}

export interface BackfillReport {
  readonly buckets: number;
  readonly months: number;
  readonly points: number;
  readonly retries: number;
}

/**
 * Rebuilds InfluxDB's ledger-derived points for a time range from the ledger: `usage` for every
 * bucket starting in the range, `charges` for every tenant month overlapping it. Points carry
 * running totals keyed by series and timestamp, so writing them over what InfluxDB already holds
 * (or over a half-finished earlier backfill) converges to the ledger. Raw `resource` gauges are
 * not in the ledger and are not restored.
 */
export class InfluxBackfill {
  private readonly logger: Logger;
  private retries = 0;

  constructor(
    private readonly ledger: Pick<
      BackfillReader,
      'countBuckets' | 'streamBucketTotals' | 'allPositions'
    >,
    private readonly catalog: Pick<TenantCatalog, 'zoneOf' | 'pricing' | 'reload'>,
    private readonly writer: LineWriter,
    private readonly options: BackfillOptions,
    rootLogger: Logger,
  ) {
    this.logger = createLogger('InfluxBackfill', { parent: rootLogger });
  }

  async run(range: BackfillRange, progress: BackfillProgress): Promise<BackfillReport> {
    if (!(range.toMs > range.fromMs)) throw new RangeError('--to must be after --from');
    await this.catalog.reload();
    const total = await this.ledger.countBuckets(range.fromMs, range.toMs);
    progress.start(total);
    let buckets = 0;
    let points = 0;
    try {
      for await (const page of this.ledger.streamBucketTotals(
        range.fromMs,
        range.toMs,
        this.options.pageSize,
      )) {
        await this.write(page.map(usagePoint));
        buckets += page.length;
        points += page.length;
        progress.advance(page.length, page.length);
      }
      const months = (await this.ledger.allPositions()).filter((p) => {
        const b = periodBounds(p.period, this.catalog.zoneOf(p.tenantId));
        return b.startMs < range.toMs && b.endMs > range.fromMs;
      });
      for (let i = 0; i < months.length; i += this.options.pageSize) {
        const page = months.slice(i, i + this.options.pageSize);
        await this.write(page.map((p) => chargesPointOf(p, this.catalog)));
        points += page.length;
        progress.advance(0, page.length);
      }
      return { buckets, months: months.length, points, retries: this.retries };
    } finally {
      progress.stop();
    }
  }

  private async write(points: readonly InfluxPoint[]): Promise<void> {
    const lines = points.map((p) => p.line);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writer.write(lines);
        return;
      } catch (error) {
        const retriable = !(error instanceof InfluxWriteError) || error.retriable;
        if (!retriable || attempt >= this.options.maxAttempts) throw error;
        this.retries += 1;
        const delay = backoffDelay(attempt, {
          initialMs: this.options.retryDelayMs,
          maxMs: 30_000,
          jitter: 'none',
        });
        this.logger.warn(
          { err: error, attempt, delayMs: delay },
          'InfluxDB write failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
