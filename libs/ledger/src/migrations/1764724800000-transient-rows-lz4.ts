import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The two columns the hot path writes most and keeps least compressed with LZ4, not pglz
 * (docs/adr/0014-rating-scale-out.md, fifteenth session): a batch's unpriced pieces
 * (`rating_unpriced_usage.piece`, deleted when priced) and a pass's usage events
 * (`usage_outbox.payloads`, deleted when Kafka acknowledges them) are nine tenths of the bytes
 * rating sends PostgreSQL, and each value over ~2 kB is compressed once and read once or never.
 * pglz spends PostgreSQL's CPU on that for rows that live seconds; LZ4 compresses several times
 * faster. Only new values are written with it (existing ones stay as they are; PostgreSQL reads
 * both). A server without LZ4 (built without it, or before version 14) refuses the setting: the
 * columns then keep the server's default, with a notice, and nothing else changes.
 */
export class TransientRowsLz41764724800000 implements MigrationInterface {
  name = 'TransientRowsLz41764724800000';

  async up(q: QueryRunner): Promise<void> {
    await setCompression(q, 'lz4');
  }

  async down(q: QueryRunner): Promise<void> {
    await setCompression(q, 'default');
  }
}

async function setCompression(q: QueryRunner, method: 'lz4' | 'default'): Promise<void> {
  // Dynamic, in a block that catches the refusal: the statement does not even parse before 14.
  await q.query(`
    DO $$
    BEGIN
      EXECUTE 'ALTER TABLE rating_unpriced_usage ALTER COLUMN piece SET COMPRESSION ${method}';
      EXECUTE 'ALTER TABLE usage_outbox ALTER COLUMN payloads SET COMPRESSION ${method}';
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'transient ledger rows keep the default compression: %', SQLERRM;
    END $$`);
}
