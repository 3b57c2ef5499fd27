import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `billing.usage.v1` events of one tenant committed with the pricing pass that closed their
 * windows and not yet acknowledged by Kafka: rating publishes them right after the commit and
 * then deletes the row; rows left by a crash or a Kafka outage are published again (same usage
 * ids, same bytes) until acknowledged. Rows written before migration
 * RowsPerTenantMonth1764724700000 hold one event, in `payload`.
 */
@Entity({ name: 'usage_outbox' })
export class UsageOutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** The events' key: per-tenant order. */
  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  /** A row of the old shape: its one event's JSON, as published (null in a row of many). */
  @Column({ type: 'text', nullable: true })
  payload!: string | null;

  /** The events' JSON, as published, byte for byte, one a line, in order. */
  @Column({ type: 'text', nullable: true })
  payloads!: string | null;

  /** How many events `payloads` holds (null: a row of the old shape, one). */
  @Column({ type: 'integer', name: 'event_count', nullable: true })
  eventCount!: number | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
