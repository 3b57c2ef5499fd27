import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A plan assignment as rating last priced a tenant's buckets with it: rating compares these with
 * `plan_assignment` at start to notice assignments changed while it was not running.
 */
@Entity({ name: 'rating_priced_assignment' })
export class RatingPricedAssignmentEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'timestamptz', name: 'effective_from' })
  effectiveFrom!: Date;

  @Column({ type: 'text', name: 'plan_id' })
  planId!: string;

  @Column({ type: 'integer', name: 'plan_version' })
  planVersion!: number;
}
