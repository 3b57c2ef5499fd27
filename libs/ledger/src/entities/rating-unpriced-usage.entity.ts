import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Usage rating has committed as quantities and not priced yet: a rating batch's pieces of one
 * tenant month (a piece per instance, aligned usage window, bucket run and plan), written by the
 * batch (insert only) and priced, then deleted, by the pricing stage under the lease of its
 * tenant month (docs/adr/0014). Rows written before migration RowsPerTenantMonth1764724700000
 * hold one piece each (an object, with its resource and instance), and are read as rows of one.
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

  /** Rows of the old shape only (one piece). */
  @Column({ type: 'text', name: 'resource_id', nullable: true })
  resourceId!: string | null;

  /** Rows of the old shape only (one piece). */
  @Column({ type: 'text', name: 'instance_id', nullable: true })
  instanceId!: string | null;

  /**
   * The pieces, a JSON array in rating order (each its window bookkeeping and bucket parts, exact
   * figures as decimal strings); in a row of the old shape, the one piece (an object).
   */
  @Column({ type: 'jsonb' })
  piece!: Record<string, unknown> | Record<string, unknown>[];

  /** How many pieces `piece` holds (null: a row of the old shape, one). */
  @Column({ type: 'integer', name: 'piece_count', nullable: true })
  pieceCount!: number | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
