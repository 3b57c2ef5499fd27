import { DataSource, MigrationExecutor } from 'typeorm';
import { ledgerGrantStatements, roleOfUrl } from './app-role';
import {
  type LedgerConnectionOptions,
  type LedgerMigrationOptions,
  ledgerSchema,
} from './ledger-pool';
import { ApiKeyEntity } from './entities/api-key.entity';
import { ConsumerOffsetDecisionEntity } from './entities/consumer-offset-decision.entity';
import { ConsumerOffsetEntity } from './entities/consumer-offset.entity';
import { CreditNoteCounterEntity } from './entities/credit-note-counter.entity';
import { CreditNoteEntity } from './entities/credit-note.entity';
import { DocumentPdfEntity } from './entities/document-pdf.entity';
import { DlqReplayEntity } from './entities/dlq-replay.entity';
import { IdempotencyKeyEntity } from './entities/idempotency-key.entity';
import { InstanceStateEntity } from './entities/instance-state.entity';
import { InvoiceCounterEntity } from './entities/invoice-counter.entity';
import { InvoiceEntity } from './entities/invoice.entity';
import { PlanAssignmentEntity } from './entities/plan-assignment.entity';
import { PricePlanEntity } from './entities/price-plan.entity';
import { ResourceEntity } from './entities/resource.entity';
import { RatingPricedAssignmentEntity } from './entities/rating-priced-assignment.entity';
import { TenantEntity } from './entities/tenant.entity';
import { TenantMonthPositionEntity } from './entities/tenant-month-position.entity';
import { UsageBucketEntity } from './entities/usage-bucket.entity';
import { UsageBucketChargeEntity } from './entities/usage-bucket-charge.entity';
import { UsageOutboxEntity } from './entities/usage-outbox.entity';
import { RatingOpenWindowEntity } from './entities/rating-open-window.entity';
import { RatingUnpricedUsageEntity } from './entities/rating-unpriced-usage.entity';
import { InitialLedger1764115200000 } from './migrations/1764115200000-initial-ledger';
import { BillingLedger1764201600000 } from './migrations/1764201600000-billing-ledger';
import { UsageCharges1764288000000 } from './migrations/1764288000000-usage-charges';
import { UsageWindows1764374400000 } from './migrations/1764374400000-usage-windows';
import { PricedAssignments1764460800000 } from './migrations/1764460800000-priced-assignments';
import { OffsetContinuity1764547200000 } from './migrations/1764547200000-offset-continuity';
import { DlqReplay1764633600000 } from './migrations/1764633600000-dlq-replay';
import { LegalInvoices1764720000000 } from './migrations/1764720000000-legal-invoices';
import { ResourceDimension1764722000000 } from './migrations/1764722000000-resource-dimension';
import { BillingAutomation1764723000160 } from './migrations/1764723000160-billing-automation';
import { ApiResources1764723600000 } from './migrations/1764723600000-api-resources';
import { BudgetThresholds1764723700000 } from './migrations/1764723700000-budget-thresholds';
import { PortalSessions1764724000000 } from './migrations/1764724000000-portal-sessions';
import { CloseRunStartedBy1764724200000 } from './migrations/1764724200000-close-run-started-by';
import { CloseRunByApi1764724300000 } from './migrations/1764724300000-close-run-by-api';
import { CompletenessCounters1764724400000 } from './migrations/1764724400000-completeness-counters';
import { RatingPricingStage1764724500000 } from './migrations/1764724500000-rating-pricing-stage';
import { UsageBucketCharges1764724600000 } from './migrations/1764724600000-usage-bucket-charges';
import { RowsPerTenantMonth1764724700000 } from './migrations/1764724700000-rows-per-tenant-month';
import { TransientRowsLz41764724800000 } from './migrations/1764724800000-transient-rows-lz4';
import { HotUpdates1764724900000 } from './migrations/1764724900000-hot-updates';

export const LEDGER_ENTITIES = [
  TenantEntity,
  PricePlanEntity,
  PlanAssignmentEntity,
  UsageBucketEntity,
  InstanceStateEntity,
  ConsumerOffsetEntity,
  ApiKeyEntity,
  InvoiceEntity,
  InvoiceCounterEntity,
  TenantMonthPositionEntity,
  UsageOutboxEntity,
  RatingPricedAssignmentEntity,
  ConsumerOffsetDecisionEntity,
  DlqReplayEntity,
  ResourceEntity,
  IdempotencyKeyEntity,
  DocumentPdfEntity,
  CreditNoteEntity,
  CreditNoteCounterEntity,
  RatingUnpricedUsageEntity,
  RatingOpenWindowEntity,
  UsageBucketChargeEntity,
];

/** Every migration, in order. Both services run them; TypeORM applies each once. */
export const LEDGER_MIGRATIONS = [
  InitialLedger1764115200000,
  BillingLedger1764201600000,
  UsageCharges1764288000000,
  UsageWindows1764374400000,
  PricedAssignments1764460800000,
  OffsetContinuity1764547200000,
  DlqReplay1764633600000,
  LegalInvoices1764720000000,
  ResourceDimension1764722000000,
  BillingAutomation1764723000160,
  ApiResources1764723600000,
  BudgetThresholds1764723700000,
  PortalSessions1764724000000,
  CloseRunStartedBy1764724200000,
  CloseRunByApi1764724300000,
  CompletenessCounters1764724400000,
  RatingPricingStage1764724500000,
  UsageBucketCharges1764724600000,
  RowsPerTenantMonth1764724700000,
  TransientRowsLz41764724800000,
  HotUpdates1764724900000,
];

export function createLedgerDataSource(options: LedgerConnectionOptions): DataSource {
  const schema = ledgerSchema(options.schema);
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    entities: LEDGER_ENTITIES,
    migrations: LEDGER_MIGRATIONS,
    migrationsTableName: 'ledger_migrations',
    migrationsTransactionMode: 'each',
    applicationName: options.applicationName ?? 'metering',
    // Unqualified names in raw SQL (migrations, bulk upserts) resolve to the ledger's schema.
    extra: { max: options.poolSize ?? 10, options: `-c search_path=${schema}` },
  });
}

/**
 * Creates the schema if needed, then applies pending migrations. Rating replicas and the billing
 * API all migrate at start; a session-level advisory lock per schema makes them take turns, so
 * two first starts never race on the same CREATE TABLE. With `grantTo`, the services' role gets
 * its privileges on the schema afterwards, under the same lock (app-role.ts).
 */
export async function migrateLedger(
  dataSource: DataSource,
  options: { readonly grantTo?: string | undefined } = {},
): Promise<string[]> {
  const schema = (dataSource.options as { schema?: string }).schema ?? 'public';
  const grants =
    options.grantTo === undefined ? [] : ledgerGrantStatements(options.grantTo, schema);
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext($1))`, [
      `metering-ledger-migrations:${schema}`,
    ]);
    await lock.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    // On the connection holding the lock: a pool of one connection must not wait for itself.
    const executor = new MigrationExecutor(dataSource, lock);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    for (const sql of grants) await lock.query(sql);
    return applied.map((m) => m.name);
  } finally {
    await lock
      .query(`SELECT pg_advisory_unlock(hashtext($1))`, [`metering-ledger-migrations:${schema}`])
      .catch(() => undefined);
    await lock.release();
  }
}

/**
 * Reverts the ledger's migrations newest first, down to and including `name` (its `down`s, one
 * transaction each), as if the ledger had been migrated only to the one before it; returns the
 * names reverted. Every later migration is assumed applied (as `migrateLedger` leaves them).
 */
export async function revertLedgerThrough(dataSource: DataSource, name: string): Promise<string[]> {
  const at = LEDGER_MIGRATIONS.findIndex((m) => m.name === name);
  if (at < 0) throw new RangeError(`no ledger migration is named ${name}`);
  const reverted: string[] = [];
  for (let i = LEDGER_MIGRATIONS.length - 1; i >= at; i--) {
    await dataSource.undoLastMigration({ transaction: 'each' });
    reverted.push(LEDGER_MIGRATIONS[i]!.name);
  }
  return reverted;
}

/**
 * The migration step of a service or of `ledger-migrate`: with a migration URL, on one owner
 * connection opened for it and closed after, granting the role of `url` its privileges (unless
 * both URLs log in as the same user); without one, over `url` as before.
 */
export async function migrateLedgerForApp(options: LedgerMigrationOptions): Promise<string[]> {
  const owner = createLedgerDataSource({
    url: options.migrationUrl ?? options.url,
    schema: options.schema,
    poolSize: 1,
    applicationName: `${options.applicationName ?? 'metering'}-migrate`,
  });
  const appRole = options.migrationUrl === null ? null : roleOfUrl(options.url);
  const grantTo =
    appRole === null || roleOfUrl(options.migrationUrl ?? '') === appRole ? undefined : appRole;
  await owner.initialize();
  try {
    return await migrateLedger(owner, { grantTo });
  } finally {
    await owner.destroy();
  }
}
