import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Offset continuity (services/rating README, "Exactly once"; docs/adr/0010-offset-continuity.md):
 * - `consumer_offset.last_fingerprint`: SHA-256 of the message at `next_offset - 1` (its key,
 *   value and timestamp), written in the batch's transaction with the offset. A rating process
 *   reads that message again on every assignment and compares, so a topic deleted and recreated
 *   (or another Kafka cluster behind the same database) is noticed even when the stored offset
 *   is within the new log. NULL: not known (rows from before this migration, or a position an
 *   operator set).
 * - `consumer_offset_decision`: an operator's decision on a stopped partition (`rating offsets
 *   --reset-to-start | --accept-gap`), who took it and what it moved: the audit trail, and for a
 *   retention gap the number of messages accepted as lost.
 */
export class OffsetContinuity1764547200000 implements MigrationInterface {
  name = 'OffsetContinuity1764547200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consumer_offset ADD COLUMN last_fingerprint bytea`);
    await q.query(`
      CREATE TABLE consumer_offset_decision (
        id bigserial PRIMARY KEY,
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        action text NOT NULL CHECK (action IN ('reset_to_start', 'accept_gap')),
        reason text NOT NULL,
        previous_offset bigint,
        new_offset bigint NOT NULL,
        log_start bigint NOT NULL,
        log_end bigint NOT NULL,
        messages_lost bigint NOT NULL DEFAULT 0 CHECK (messages_lost >= 0),
        decided_by text NOT NULL,
        decided_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX consumer_offset_decision_partition
         ON consumer_offset_decision (group_id, topic, partition, decided_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE consumer_offset_decision`);
    await q.query(`ALTER TABLE consumer_offset DROP COLUMN last_fingerprint`);
  }
}
