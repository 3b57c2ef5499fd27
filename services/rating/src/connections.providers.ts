import { type Provider } from '@nestjs/common';
import { type Pool } from 'pg';
import { KafkaClientFactory } from '@metering/kafka';
// The ledger's pool and migration worker only: @metering/ledger's index would load TypeORM.
import { createLedgerPool, migrateLedgerInWorker } from '@metering/ledger/dist/src/ledger-pool';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { type RatingConfig } from './config';
import { BatchFingerprints } from './consuming/message-fingerprint';
import { withoutPreparedStatements } from './ledger/ledger-db';
import { RatingLedger, type RatingLedgerStores } from './ledger/rating-ledger';

/** The ledger's connection pool (node-postgres), migrated (MIGRATE_ON_START) and reachable. */
export const LEDGER_POOL = Symbol('LEDGER_POOL');
/** RatingLedger on LEDGER_POOL: readiness ping and the one place that closes it. */
export const RATING_LEDGER = Symbol('RATING_LEDGER');
/** The ledger's stores (RatingLedgerStores), the batch ledger storing BatchFingerprints. */
export const RATING_STORES = Symbol('RATING_STORES');
/** Rating's clock (`() => number`, milliseconds): Date.now. */
export const RATING_CLOCK = Symbol('RATING_CLOCK');
/** Rating's logger (context `Rating`). */
export const RATING_LOGGER = Symbol('RATING_LOGGER');

export interface ConnectionOptions {
  /** `application_name` of the ledger connections (pg_stat_activity). */
  applicationName: string;
}

/**
 * What every use of rating needs, the service and its commands alike: the ledger (connected) and
 * its stores, the Kafka client factory, the clock and the logger. Closing them is
 * RatingService's (the ledger last).
 */
export function connectionProviders(config: RatingConfig, options: ConnectionOptions): Provider[] {
  const { applicationName } = options;
  return [
    { provide: RATING_CLOCK, useValue: Date.now },
    {
      provide: RATING_LOGGER,
      useFactory: (root: Logger): Logger => createLogger('Rating', { parent: root }),
      inject: [ROOT_LOGGER],
    },
    {
      provide: LEDGER_POOL,
      useFactory: async (logger: Logger): Promise<Pool> => {
        const { url, migrationUrl, schema, poolSize } = config.database;
        if (config.migrateOnStart) {
          // As the owner on a connection of its own when DATABASE_MIGRATION_URL is set; TypeORM,
          // which migrates, loads in the worker's isolate and goes with it.
          const applied = await migrateLedgerInWorker({
            url,
            migrationUrl,
            schema,
            applicationName,
          });
          if (applied.length > 0) logger.info({ applied }, 'ledger migrations applied');
        }
        const pool = createLedgerPool({ url, schema, poolSize, applicationName }, (error) =>
          // The statement that used it fails and is retried; the readiness probe says the rest.
          logger.warn({ error: error.message }, 'a ledger connection was lost'),
        );
        if (!config.preparedStatements) withoutPreparedStatements(pool);
        return pool;
      },
      inject: [RATING_LOGGER],
    },
    {
      provide: RATING_LEDGER,
      useFactory: async (pool: Pool): Promise<RatingLedger> => {
        const ledger = RatingLedger.on(pool);
        // A connection at start, as TypeORM's initialize made: a ledger out of reach fails here.
        await ledger.connect();
        return ledger;
      },
      inject: [LEDGER_POOL],
    },
    { provide: BatchFingerprints, useFactory: (): BatchFingerprints => new BatchFingerprints() },
    {
      provide: RATING_STORES,
      useFactory: (ledger: RatingLedger, fingerprints: BatchFingerprints): RatingLedgerStores =>
        ledger.stores(fingerprints),
      inject: [RATING_LEDGER, BatchFingerprints],
    },
    {
      provide: KafkaClientFactory,
      useFactory: (logger: Logger, metrics: MetricsRegistry): KafkaClientFactory =>
        new KafkaClientFactory(config.kafka, { logger, metrics }),
      inject: [ROOT_LOGGER, MetricsRegistry],
    },
  ];
}
