import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { NestFactory } from '@nestjs/core';
import { createRootLogger } from '@metering/observability';
import { AppModule } from './app.module';
import { loadRatingConfig } from './config';
import { RATING_STORES } from './connections.providers';
import { type RatingLedgerStores } from './ledger/rating-ledger';
import { TenantCatalog } from './pricing/tenant-catalog';
import { type BackfillProgress, InfluxBackfill } from './sinks/influx-backfill';
import { InfluxHttpWriter } from './sinks/influx.writer';

const USAGE = `usage: backfill --from <ISO time> --to <ISO time> [--page-size N]
Rewrites the InfluxDB points of the ledger for buckets starting in [from, to): \`usage\` per bucket
and \`charges\` per tenant month. Settings (DATABASE_*, INFLUX_*) as for the rating service.`;

class UsageError extends Error {
  readonly code = 'USAGE';
}

function parseTime(name: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(
      `--${name}: "${value}" is not an ISO-8601 time, e.g. 2026-11-01T00:00:00Z`,
    );
  }
  return ms;
}

/** cli-progress on stderr; without a terminal it prints a status line every few seconds. */
function progressBar(): BackfillProgress & { points: number } {
  const bar = new SingleBar({
    format:
      'backfill [{bar}] {percentage}% | {value}/{total} buckets | {points} points | {eta_formatted} left',
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    hideCursor: true,
  });
  let points = 0;
  return {
    get points() {
      return points;
    },
    start: (total) => bar.start(total, 0, { points }),
    advance: (buckets, written) => {
      points += written;
      bar.increment(buckets, { points });
    },
    stop: () => bar.stop(),
  };
}

async function main(): Promise<number> {
  let range: { fromMs: number; toMs: number };
  let pageSize: number;
  try {
    const { values } = parseArgs({
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'page-size': { type: 'string', default: '5000' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    range = { fromMs: parseTime('from', values.from), toMs: parseTime('to', values.to) };
    if (range.toMs <= range.fromMs) throw new UsageError('--to must be after --from');
    pageSize = Number(values['page-size']);
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new UsageError('--page-size: a whole number ≥ 1');
  } catch (error) {
    console.error(`backfill: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }

  const config = loadRatingConfig();
  if (config.influx.target === null) {
    console.error('backfill: INFLUX_API is off: nothing to write to');
    return 2;
  }
  const logger = createRootLogger({ serviceName: 'rating-backfill', level: config.logLevel });
  // Rating's module without its pipeline: the ledger (two connections, not migrated here) and
  // its stores; app.close() closes the ledger.
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot(
      { ...config, migrateOnStart: false, database: { ...config.database, poolSize: 2 } },
      { logger, start: false, applicationName: 'rating-backfill' },
    ),
    { logger: false, abortOnError: false },
  );
  try {
    const stores = app.get<RatingLedgerStores>(RATING_STORES);
    const writer = new InfluxHttpWriter(config.influx.target, config.influx.timeoutMs);
    const catalog = new TenantCatalog(stores.catalog, {
      ttlMs: 0,
      defaultTimeZone: config.defaultTimeZone,
      defaultCurrency: config.defaultCurrency,
    });
    const backfill = new InfluxBackfill(
      stores.backfill,
      catalog,
      writer,
      { pageSize, maxAttempts: 8, retryDelayMs: 500 },
      logger,
    );
    const started = Date.now();
    const report = await backfill.run(range, progressBar());
    console.error(
      `backfill: ${report.buckets} buckets and ${report.months} tenant months written as ` +
        `${report.points} points to ${writer.description} in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        (report.retries > 0 ? ` (${report.retries} retried writes)` : ''),
    );
    return 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`backfill failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
