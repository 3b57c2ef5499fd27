import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `dlq_replay`: every dead letter `rating dlq replay` re-published, by its DLQ coordinate. The
 * row is inserted in the transaction that is committed once Kafka acknowledged the re-published
 * record, so a DLQ record is replayed at most once (services/rating README, "DLQ").
 */
export class DlqReplay1764633600000 implements MigrationInterface {
  name = 'DlqReplay1764633600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dlq_replay (
        dlq_topic text NOT NULL,
        partition integer NOT NULL CHECK (partition >= 0),
        "offset" bigint NOT NULL CHECK ("offset" >= 0),
        replayed_at timestamptz NOT NULL DEFAULT now(),
        reason_code text NOT NULL,
        target_topic text NOT NULL,
        original_partition integer NOT NULL,
        original_offset bigint NOT NULL,
        key_from_resource boolean NOT NULL,
        PRIMARY KEY (dlq_topic, partition, "offset")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dlq_replay`);
  }
}
