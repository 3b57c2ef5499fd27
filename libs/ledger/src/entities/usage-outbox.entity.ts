import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A `billing.usage.v1` event committed with the batch that rated it and not yet acknowledged by
 * Kafka: rating publishes it right after the commit and then deletes the row; rows left by a
 * crash or a Kafka outage are published again (same usage id, same bytes) until acknowledged.
 */
@Entity({ name: 'usage_outbox' })
export class UsageOutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** The event's key: per-tenant order. */
  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  /** The event's JSON, as published. */
  @Column({ type: 'text' })
  payload!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
