import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * The next offset to consume per group and partition. Kept in the ledger's database, committed in
 * the same transaction as the usage it produced: the source of truth on start and on rebalance.
 */
@Entity({ name: 'consumer_offset' })
export class ConsumerOffsetEntity {
  @PrimaryColumn({ type: 'text', name: 'group_id' })
  groupId!: string;

  @PrimaryColumn({ type: 'text' })
  topic!: string;

  @PrimaryColumn({ type: 'integer' })
  partition!: number;

  @Column({ type: 'bigint', name: 'next_offset' })
  nextOffset!: string;

  /** SHA-256 of the message at next_offset - 1 (key, value, timestamp); null when not known. */
  @Column({ type: 'bytea', name: 'last_fingerprint', nullable: true })
  lastFingerprint!: Buffer | null;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
