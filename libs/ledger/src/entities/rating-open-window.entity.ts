import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * An instance's open usage window in one month: priced, in the ledger, not yet a usage event.
 * Written only by the pricing stage under the lease of its tenant month (docs/adr/0014).
 */
@Index('rating_open_window_month', ['tenantId', 'period'])
@Index('rating_open_window_idle', ['updatedAt'])
@Entity({ name: 'rating_open_window' })
export class RatingOpenWindowEntity {
  @PrimaryColumn({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @PrimaryColumn({ type: 'text', name: 'instance_id' })
  instanceId!: string;

  @PrimaryColumn({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @Column({ type: 'jsonb' })
  window!: Record<string, unknown>;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
