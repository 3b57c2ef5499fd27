export { ApiKeyEntity } from './entities/api-key.entity';
export { ConsumerOffsetDecisionEntity } from './entities/consumer-offset-decision.entity';
export { ConsumerOffsetEntity } from './entities/consumer-offset.entity';
export { CreditNoteCounterEntity } from './entities/credit-note-counter.entity';
export { CreditNoteEntity } from './entities/credit-note.entity';
export { DocumentPdfEntity } from './entities/document-pdf.entity';
export { DlqReplayEntity } from './entities/dlq-replay.entity';
export { IdempotencyKeyEntity } from './entities/idempotency-key.entity';
export { InstanceStateEntity } from './entities/instance-state.entity';
export { RatingOpenWindowEntity } from './entities/rating-open-window.entity';
export { RatingUnpricedUsageEntity } from './entities/rating-unpriced-usage.entity';
export { InvoiceCounterEntity } from './entities/invoice-counter.entity';
export { InvoiceEntity } from './entities/invoice.entity';
export { PlanAssignmentEntity } from './entities/plan-assignment.entity';
export { PricePlanEntity, type TierRecord } from './entities/price-plan.entity';
export { ResourceEntity } from './entities/resource.entity';
export { RatingPricedAssignmentEntity } from './entities/rating-priced-assignment.entity';
export { TenantEntity } from './entities/tenant.entity';
export { TenantMonthPositionEntity } from './entities/tenant-month-position.entity';
export { UsageBucketEntity } from './entities/usage-bucket.entity';
export { UsageBucketChargeEntity } from './entities/usage-bucket-charge.entity';
export { UsageOutboxEntity } from './entities/usage-outbox.entity';
export {
  type LedgerConnectionOptions,
  type LedgerMigrationOptions,
  createLedgerPool,
  ledgerSchema,
  migrateLedgerInWorker,
} from './ledger-pool';
export {
  LEDGER_ENTITIES,
  LEDGER_MIGRATIONS,
  createLedgerDataSource,
  migrateLedger,
  migrateLedgerForApp,
  revertLedgerThrough,
} from './ledger.data-source';
export {
  APPEND_ONLY_TABLES,
  appRoleStatements,
  createAppRoleStatement,
  ledgerGrantStatements,
  roleOfUrl,
} from './app-role';
