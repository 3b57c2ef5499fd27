import { type Pool } from 'pg';
import { z } from 'zod';
import { LedgerDb } from './ledger-db';

/** A partition's stored position as offset continuity reads it. */
export interface StoredPosition {
  readonly partition: number;
  /** The next offset to consume; null when nothing was ever committed. */
  readonly nextOffset: bigint | null;
  /** SHA-256 (hex) of the message at nextOffset - 1; null when not known. */
  readonly fingerprint: string | null;
  /** Changes with every write of the row: how a stopped partition notices a decision. */
  readonly revision: string;
}

export type DecisionAction = 'reset_to_start' | 'accept_gap';

export interface OffsetDecision {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly action: DecisionAction;
  /** Why the partition was stopped (domain StopReason). */
  readonly reason: string;
  /** The position the decision was taken on: it is applied only if the row still holds it. */
  readonly previousOffset: bigint | null;
  readonly newOffset: bigint;
  readonly logStart: bigint;
  readonly logEnd: bigint;
  readonly messagesLost: bigint;
  readonly decidedBy: string;
}

export interface RecordedDecision extends OffsetDecision {
  readonly id: string;
  readonly decidedAt: Date;
}

export class PositionMovedError extends Error {
  readonly code = 'OFFSET_POSITION_MOVED';
}

const positionRow = z.object({
  partition: z.number().int(),
  next_offset: z.string(),
  fingerprint: z.string().nullable(),
  revision: z.string(),
});
const nextOffsetRow = z.object({ next_offset: z.string() });
const insertedRow = z.object({ id: z.string(), decided_at: z.date() });
const decisionRow = z.object({
  id: z.string(),
  partition: z.number().int(),
  action: z.string(),
  reason: z.string(),
  previous_offset: z.string().nullable(),
  new_offset: z.string(),
  log_start: z.string(),
  log_end: z.string(),
  messages_lost: z.string(),
  decided_by: z.string(),
  decided_at: z.date(),
});

/**
 * The ledger's side of offset continuity (consuming/offset-continuity.guard.ts and the operator's
 * `rating offsets` command): stored positions with the fingerprint of the message before them,
 * and operators' decisions, each applied with its audit row in one transaction.
 */
export class OffsetPositionStore {
  private readonly db: LedgerDb;

  constructor(pool: Pool) {
    this.db = new LedgerDb(pool);
  }

  /** The positions of a topic's partitions (all, or those given). */
  async positions(
    groupId: string,
    topic: string,
    partitions?: readonly number[],
  ): Promise<Map<number, StoredPosition>> {
    const rows = await this.db.rows(
      null,
      positionRow,
      `SELECT partition, next_offset::text, encode(last_fingerprint, 'hex') AS fingerprint,
              (extract(epoch from updated_at) * 1000000)::bigint::text || ':' || next_offset::text
                || ':' || coalesce(encode(last_fingerprint, 'hex'), '') AS revision
       FROM consumer_offset
       WHERE group_id = $1 AND topic = $2 AND ($3::int[] IS NULL OR partition = ANY($3))`,
      [groupId, topic, partitions === undefined ? null : [...partitions]],
    );
    const positions = new Map<number, StoredPosition>();
    for (const row of rows) {
      const next = BigInt(row.next_offset);
      positions.set(row.partition, {
        partition: row.partition,
        // -1: the row exists (a batch locked it) but nothing was committed yet.
        nextOffset: next < 0n ? null : next,
        fingerprint: row.fingerprint,
        revision: row.revision,
      });
    }
    return positions;
  }

  /**
   * Applies an operator's decision: the partition's position becomes `newOffset` with no
   * fingerprint (nothing before it was rated from this log), and the decision is recorded.
   * Refused with PositionMovedError when the row no longer holds `previousOffset` (rating
   * committed meanwhile, or another operator decided first): the operator looks again.
   */
  async decide(decision: OffsetDecision): Promise<RecordedDecision> {
    return this.db.transaction(async (tx) => {
      const rows = await this.db.rows(
        tx,
        nextOffsetRow,
        `SELECT next_offset::text FROM consumer_offset
         WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
        [decision.groupId, decision.topic, decision.partition],
      );
      const current = rows[0] === undefined ? null : BigInt(rows[0].next_offset);
      const held = current === null || current < 0n ? null : current;
      if (held !== decision.previousOffset) {
        throw new PositionMovedError(
          `the stored offset of ${decision.topic}/${decision.partition} is now ${held ?? 'none'}, not ${decision.previousOffset ?? 'none'}: look again`,
        );
      }
      await this.db.execute(
        tx,
        `INSERT INTO consumer_offset AS o (group_id, topic, partition, next_offset, last_fingerprint)
         VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (group_id, topic, partition) DO UPDATE
           SET next_offset = EXCLUDED.next_offset, last_fingerprint = NULL, updated_at = now()`,
        [decision.groupId, decision.topic, decision.partition, decision.newOffset.toString()],
      );
      const inserted = await this.db.rows(
        tx,
        insertedRow,
        `INSERT INTO consumer_offset_decision (group_id, topic, partition, action, reason,
           previous_offset, new_offset, log_start, log_end, messages_lost, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id::text, decided_at`,
        [
          decision.groupId,
          decision.topic,
          decision.partition,
          decision.action,
          decision.reason,
          decision.previousOffset?.toString() ?? null,
          decision.newOffset.toString(),
          decision.logStart.toString(),
          decision.logEnd.toString(),
          decision.messagesLost.toString(),
          decision.decidedBy,
        ],
      );
      const row = inserted[0];
      if (row === undefined) throw new TypeError('the decision was not recorded');
      return { ...decision, id: row.id, decidedAt: row.decided_at };
    });
  }

  /** Every recorded decision of a topic for the group, oldest first. */
  async decisions(groupId: string, topic: string): Promise<RecordedDecision[]> {
    const rows = await this.db.rows(
      null,
      decisionRow,
      `SELECT id::text, partition, action, reason, previous_offset::text, new_offset::text,
              log_start::text, log_end::text, messages_lost::text, decided_by, decided_at
       FROM consumer_offset_decision WHERE group_id = $1 AND topic = $2 ORDER BY id`,
      [groupId, topic],
    );
    return rows.map((r) => ({
      id: r.id,
      groupId,
      topic,
      partition: r.partition,
      action: r.action === 'accept_gap' ? 'accept_gap' : 'reset_to_start',
      reason: r.reason,
      previousOffset: r.previous_offset === null ? null : BigInt(r.previous_offset),
      newOffset: BigInt(r.new_offset),
      logStart: BigInt(r.log_start),
      logEnd: BigInt(r.log_end),
      messagesLost: BigInt(r.messages_lost),
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
    }));
  }
}
