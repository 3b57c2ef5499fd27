import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A dead letter that `rating dlq replay` re-published to its original topic, by its coordinate on
 * the DLQ topic: a coordinate present here is never replayed again.
 */
@Entity({ name: 'dlq_replay' })
export class DlqReplayEntity {
  @PrimaryColumn({ type: 'text', name: 'dlq_topic' })
  dlqTopic!: string;

  @PrimaryColumn({ type: 'integer' })
  partition!: number;

  @PrimaryColumn({ type: 'bigint' })
  offset!: string;

  @Column({ type: 'timestamptz', name: 'replayed_at', default: () => 'now()' })
  replayedAt!: Date;

  @Column({ type: 'text', name: 'reason_code' })
  reasonCode!: string;

  @Column({ type: 'text', name: 'target_topic' })
  targetTopic!: string;

  @Column({ type: 'integer', name: 'original_partition' })
  originalPartition!: number;

  @Column({ type: 'bigint', name: 'original_offset' })
  originalOffset!: string;

  @Column({ type: 'boolean', name: 'key_from_resource' })
  keyFromResource!: boolean;
}
