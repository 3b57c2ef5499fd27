import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** From `effectiveFrom` on (until the next assignment), the tenant is billed by this plan version. */
@Entity({ name: 'plan_assignment' })
export class PlanAssignmentEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'timestamptz', name: 'effective_from' })
  effectiveFrom!: Date;

  @Column({ type: 'text', name: 'plan_id' })
  planId!: string;

  @Column({ type: 'integer', name: 'plan_version' })
  planVersion!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
