import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * The charge of one usage bucket (keyed like it), unrounded, in the currency of the tenant's
 * plan. Written only by rating's pricing stage, under the lease of the bucket's tenant month,
 * and by the reprice, which holds the same lease; never by the batch that writes the bucket's
 * quantities (docs/adr/0014-rating-scale-out.md). A bucket without one has no charge (0).
 */
@Entity({ name: 'usage_bucket_charge' })
export class UsageBucketChargeEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @PrimaryColumn({ type: 'timestamptz', name: 'bucket_start' })
  bucketStart!: Date;

  @Column({ type: 'numeric', default: 0 })
  amount!: string;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
