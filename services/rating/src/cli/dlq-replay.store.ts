import { type Pool } from 'pg';
import { z } from 'zod';
import { LedgerDb } from '../ledger/ledger-db';

/** One dead letter to re-publish, as recorded in `dlq_replay`. */
export interface ReplayClaim {
  readonly partition: number;
  readonly offset: string;
  readonly reasonCode: string;
  readonly targetTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  readonly keyFromResource: boolean;
}

const presentRow = z.object({ present: z.boolean() });
const replayedRow = z.object({
  partition: z.number().int(),
  offset: z.string(),
  replayed_at: z.date(),
});
const claimedRow = z.object({ partition: z.number().int(), offset: z.string() });

class DlqReplayStoreError extends Error {
  readonly code = 'DLQ_REPLAY_TABLE_MISSING';
}

/**
 * The ledger's record of replayed dead letters (`dlq_replay`, one row per DLQ coordinate). A
 * coordinate is claimed by inserting its row, in a transaction that commits only once Kafka has
 * acknowledged the re-published record: a failed publish leaves no row (the record stays
 * replayable), and a second replay running at the same time waits on the row lock and then finds
 * it taken. A crash between the acknowledgement and the commit leaves no row either, so the next
 * replay publishes that record again: harmless, rating ignores a sample it has already rated.
 */
export class DlqReplayStore {
  private readonly db: LedgerDb;

  constructor(pool: Pool) {
    this.db = new LedgerDb(pool);
  }

  /** The table comes with the ledger migration that the rating service applies when it starts. */
  async assertReady(): Promise<void> {
    if (!(await this.ready())) {
      throw new DlqReplayStoreError(
        'the ledger has no dlq_replay table: start the rating service of this version once (it migrates the ledger)',
      );
    }
  }

  async ready(): Promise<boolean> {
    const [row] = await this.db.rows(
      null,
      presentRow,
      `SELECT to_regclass('dlq_replay') IS NOT NULL AS present`,
    );
    return row?.present === true;
  }

  /** When each replayed coordinate of `dlqTopic` was replayed, keyed `partition/offset`. */
  async replayed(dlqTopic: string): Promise<Map<string, Date>> {
    const rows = await this.db.rows(
      null,
      replayedRow,
      `SELECT partition, "offset"::text AS "offset", replayed_at FROM dlq_replay WHERE dlq_topic = $1`,
      [dlqTopic],
    );
    return new Map(rows.map((r) => [`${r.partition}/${r.offset}`, r.replayed_at]));
  }

  /**
   * Claims the coordinates not replayed yet, hands exactly those to `publish`, and commits the
   * claim once `publish` resolved (Kafka acknowledged). Returns the claimed ones.
   */
  async claimWhilePublishing(
    dlqTopic: string,
    claims: readonly ReplayClaim[],
    publish: (claimed: readonly ReplayClaim[]) => Promise<void>,
  ): Promise<ReplayClaim[]> {
    return this.db.transaction(async (tx) => {
      const rows = await this.db.rows(
        tx,
        claimedRow,
        `INSERT INTO dlq_replay (dlq_topic, partition, "offset", reason_code, target_topic,
                                 original_partition, original_offset, key_from_resource)
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::int[],
                                  $7::bigint[], $8::boolean[])
         ON CONFLICT DO NOTHING
         RETURNING partition, "offset"::text AS "offset"`,
        [
          dlqTopic,
          claims.map((c) => c.partition),
          claims.map((c) => c.offset),
          claims.map((c) => c.reasonCode),
          claims.map((c) => c.targetTopic),
          claims.map((c) => c.originalPartition),
          claims.map((c) => c.originalOffset),
          claims.map((c) => c.keyFromResource),
        ],
      );
      const won = new Set(rows.map((r) => `${r.partition}/${r.offset}`));
      const claimed = claims.filter((c) => won.has(`${c.partition}/${c.offset}`));
      if (claimed.length > 0) await publish(claimed);
      return claimed;
    });
  }
}
