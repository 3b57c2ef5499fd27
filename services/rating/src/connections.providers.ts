import { type Provider } from '@nestjs/common';
import { type DataSource } from 'typeorm';
import { KafkaClientFactory } from '@metering/kafka';
import { createLedgerDataSource, migrateLedgerForApp } from '@metering/ledger';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { type RatingConfig } from './config';
import { BatchFingerprints } from './consuming/message-fingerprint';
import { withoutPreparedStatements } from './ledger/ledger-db';
import { RatingLedger, type RatingLedgerStores } from './ledger/rating-ledger';

/** The ledger's TypeORM DataSource: migrated (MIGRATE_ON_START) and connected. */
export const LEDGER_DATA_SOURCE = Symbol('LEDGER_DATA_SOURCE');
/** RatingLedger on LEDGER_DATA_SOURCE: readiness ping and the one place that closes it. */
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
      provide: LEDGER_DATA_SOURCE,
      useFactory: async (logger: Logger): Promise<DataSource> => {
        const { url, migrationUrl, schema, poolSize } = config.database;
        const dataSource = createLedgerDataSource({ url, schema, poolSize, applicationName });
        if (config.migrateOnStart) {
          // As the owner on a connection of its own when DATABASE_MIGRATION_URL is set.
          const applied = await migrateLedgerForApp({ url, migrationUrl, schema, applicationName });
          if (applied.length > 0) logger.info({ applied }, 'ledger migrations applied');
        }
        await dataSource.initialize();
        if (!config.preparedStatements) withoutPreparedStatements(dataSource);
        return dataSource;
      },
      inject: [RATING_LOGGER],
    },
    {
      provide: RATING_LEDGER,
      useFactory: (dataSource: DataSource): RatingLedger => RatingLedger.on(dataSource),
      inject: [LEDGER_DATA_SOURCE],
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
