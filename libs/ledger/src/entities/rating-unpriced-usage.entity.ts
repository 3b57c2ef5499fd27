import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Usage rating has committed as quantities and not priced yet: one piece per instance, aligned
 * usage window, bucket run and plan, written by the rating batch (insert only) and priced, then
 * deleted, by the pricing stage under the lease of its tenant month (docs/adr/0014).
 */
@Index('rating_unpriced_usage_month', ['tenantId', 'period', 'id'])
@Entity({ name: 'rating_unpriced_usage' })
export class RatingUnpricedUsageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @Column({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @Column({ type: 'text', name: 'instance_id' })
  instanceId!: string;

  /** The piece: its window bookkeeping and bucket parts (exact figures as decimal strings). */
  @Column({ type: 'jsonb' })
  piece!: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
