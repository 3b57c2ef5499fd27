import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Completeness as the share of expected samples present (docs/adr/0013-completeness.md): per usage
 * bucket, the unseen tails of inferred finals (`inferred_gap_ms`, apart from `gap_ms`, the
 * silences), the samples expected, observed and thinned, and the time (and gap time) covered by
 * samples that declared their collector's interval. Existing rows get zeros: no sample of theirs
 * declared an interval, so they are judged by time, as they were (libs/pricing completeness.ts).
 * Every column only grows, by addition, like the rest of the bucket.
 */
export class CompletenessCounters1764724400000 implements MigrationInterface {
  name = 'CompletenessCounters1764724400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE usage_bucket
        ADD COLUMN inferred_gap_ms bigint NOT NULL DEFAULT 0 CHECK (inferred_gap_ms >= 0),
        ADD COLUMN samples_expected bigint NOT NULL DEFAULT 0 CHECK (samples_expected >= 0),
        ADD COLUMN samples_observed bigint NOT NULL DEFAULT 0 CHECK (samples_observed >= 0),
        ADD COLUMN samples_thinned bigint NOT NULL DEFAULT 0 CHECK (samples_thinned >= 0),
        ADD COLUMN declared_ms bigint NOT NULL DEFAULT 0 CHECK (declared_ms >= 0),
        ADD COLUMN declared_gap_ms bigint NOT NULL DEFAULT 0 CHECK (declared_gap_ms >= 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE usage_bucket
        DROP COLUMN inferred_gap_ms, DROP COLUMN samples_expected, DROP COLUMN samples_observed,
        DROP COLUMN samples_thinned, DROP COLUMN declared_ms, DROP COLUMN declared_gap_ms`);
  }
}
