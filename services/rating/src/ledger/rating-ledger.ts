import { type Pool } from 'pg';
import {
  type LedgerConnectionOptions,
  createLedgerPool,
} from '@metering/ledger/dist/src/ledger-pool';
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
 * backfill) meets its pool (node-postgres's; no TypeORM in rating's process: its migrations run
 * in a worker, libs/ledger ledger-pool.ts); the application sees stores and opaque transactions.
 */
export class RatingLedger {
  private ended = false;

  private constructor(private readonly pool: Pool) {}

  static create(options: LedgerConnectionOptions): RatingLedger {
    return new RatingLedger(createLedgerPool(options));
  }

  /** On a pool the caller owns (specs). */
  static on(pool: Pool): RatingLedger {
    return new RatingLedger(pool);
  }

  /** Opens a connection and returns it to the pool: the ledger is reachable (or this throws). */
  async connect(): Promise<void> {
    const client = await this.pool.connect();
    client.release();
  }

  /** The stores; `fingerprints` tells the batch ledger what to store with a partition's offset. */
  stores(fingerprints: OffsetFingerprints | null = null): RatingLedgerStores {
    const db = new LedgerDb(this.pool);
    // The piece rows the batches insert, priced by this process's passes without reading back.
    const written = new WrittenPieces();
    return {
      batches: new BatchLedger(db, fingerprints, written),
      outbox: new OutboxStore(db),
      pricing: new PricingStore(db, written),
      reprices: new RepriceStore(db),
      catalog: new CatalogReader(db),
      backfill: new BackfillReader(db),
      offsets: new OffsetPositionStore(this.pool),
      written,
    };
  }

  /** Until close(). */
  get connected(): boolean {
    return !this.ended;
  }

  /** Whether the ledger answers (readiness). */
  async ping(): Promise<void> {
    await new LedgerDb(this.pool).execute(null, 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }
}
