import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * An operator's decision on a partition rating stopped (offset continuity): the audit trail of
 * `rating offsets --reset-to-start | --accept-gap`.
 */
@Entity({ name: 'consumer_offset_decision' })
@Index('consumer_offset_decision_partition', ['groupId', 'topic', 'partition', 'decidedAt'])
export class ConsumerOffsetDecisionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'group_id' })
  groupId!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Column({ type: 'integer' })
  partition!: number;

  @Column({ type: 'text' })
  action!: 'reset_to_start' | 'accept_gap';

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'bigint', name: 'previous_offset', nullable: true })
  previousOffset!: string | null;

  @Column({ type: 'bigint', name: 'new_offset' })
  newOffset!: string;

  @Column({ type: 'bigint', name: 'log_start' })
  logStart!: string;

  @Column({ type: 'bigint', name: 'log_end' })
  logEnd!: string;

  @Column({ type: 'bigint', name: 'messages_lost', default: 0 })
  messagesLost!: string;

  @Column({ type: 'text', name: 'decided_by' })
  decidedBy!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'decided_at' })
  decidedAt!: Date;
}
