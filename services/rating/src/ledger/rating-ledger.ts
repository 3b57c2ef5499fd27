import { type DataSource } from 'typeorm';
import { type LedgerConnectionOptions, createLedgerDataSource } from '@metering/ledger';
import { BackfillReader } from './backfill.reader';
import { BatchLedger, type OffsetFingerprints } from './batch-ledger.store';
import { CatalogReader } from './catalog.reader';
import { LedgerDb } from './ledger-db';
import { OffsetPositionStore } from './offset-position.store';
import { OutboxStore } from './outbox.store';
import { PricingStore } from './pricing.store';
import { RepriceStore } from './reprice.store';
import { WrittenPieces } from './written-pieces';

/** The rating ledger's stores, each named for its caller. */
export interface RatingLedgerStores {
  readonly batches: BatchLedger;
  readonly outbox: OutboxStore;
  readonly pricing: PricingStore;
  readonly reprices: RepriceStore;
  readonly catalog: CatalogReader;
  readonly backfill: BackfillReader;
  readonly offsets: OffsetPositionStore;
  /** The piece rows the batches inserted, held for the pricing passes (written-pieces.ts). */
  readonly written: WrittenPieces;
}

/**
 * Rating's connection to the ledger and the stores on it: the one place the process (runner,
 * backfill) meets TypeORM's DataSource; the application sees stores and opaque transactions.
 */
export class RatingLedger {
  private constructor(private readonly dataSource: DataSource) {}

  static create(options: LedgerConnectionOptions): RatingLedger {
    return new RatingLedger(createLedgerDataSource(options));
  }

  /** On a DataSource the caller owns (specs). */
  static on(dataSource: DataSource): RatingLedger {
    return new RatingLedger(dataSource);
  }

  async connect(): Promise<void> {
    await this.dataSource.initialize();
  }

  /** The stores; `fingerprints` tells the batch ledger what to store with a partition's offset. */
  stores(fingerprints: OffsetFingerprints | null = null): RatingLedgerStores {
    const db = new LedgerDb(this.dataSource);
    // The piece rows the batches insert, priced by this process's passes without reading back.
    const written = new WrittenPieces();
    return {
      batches: new BatchLedger(db, fingerprints, written),
      outbox: new OutboxStore(db),
      pricing: new PricingStore(db, written),
      reprices: new RepriceStore(db),
      catalog: new CatalogReader(db),
      backfill: new BackfillReader(db),
      offsets: new OffsetPositionStore(this.dataSource),
      written,
    };
  }

  get connected(): boolean {
    return this.dataSource.isInitialized;
  }

  /** Whether the ledger answers (readiness). */
  async ping(): Promise<void> {
    await new LedgerDb(this.dataSource).execute(null, 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
