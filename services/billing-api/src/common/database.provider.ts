import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createLedgerDataSource, migrateLedgerForApp } from '@metering/ledger';
import { createLogger, HealthRegistry, type Logger, ROOT_LOGGER } from '@metering/observability';
import { type BillingConfig } from '../config';
import { execute } from './sql-rows';
import { BILLING_CONFIG } from './tokens';

/**
 * The ledger connection: opened (and migrated) when the module starts, checked by /healthz,
 * closed on shutdown. Repositories inject the DataSource it provides.
 */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger: Logger;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    health: HealthRegistry,
  ) {
    this.logger = createLogger(DatabaseLifecycle.name, { parent: root });
    health.register('database', async () => {
      await execute(this.dataSource, 'SELECT 1');
      return { status: 'up', detail: { schema: this.config.database.schema } };
    });
  }

  async onModuleInit(): Promise<void> {
    // Migrated before the service's own pool opens: with DATABASE_MIGRATION_URL, as the owner on a
    // connection of its own (closed after), so the pool only ever holds the app role's sessions.
    if (this.config.migrateOnStart) {
      const { url, migrationUrl, schema } = this.config.database;
      const applied = await migrateLedgerForApp({
        url,
        migrationUrl,
        schema,
        applicationName: 'billing-api',
      });
      if (applied.length > 0) this.logger.info({ applied }, 'ledger migrated');
    }
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

export const dataSourceProvider = {
  provide: DataSource,
  useFactory: (config: BillingConfig): DataSource =>
    createLedgerDataSource({
      url: config.database.url,
      schema: config.database.schema,
      poolSize: config.database.poolSize,
      applicationName: 'billing-api',
    }),
  inject: [BILLING_CONFIG],
};

/** Groups items by a key (Map.groupBy is ES2024; the build targets ES2023). */
export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
