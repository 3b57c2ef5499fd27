import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A tenant's running position in one billing month (period "YYYY-MM" in its billing zone): the
 * quantity priced so far, on the basis of the plan that priced it (core-seconds, GiB-seconds),
 * and the charges so far (unrounded). Graduated tiers continue from here; rating moves it in the
 * same transaction as the usage buckets, under this row's lock.
 */
@Entity({ name: 'tenant_month_position' })
export class TenantMonthPositionEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'numeric', name: 'cpu_core_seconds', default: 0 })
  cpuCoreSeconds!: string;

  @Column({ type: 'numeric', name: 'memory_gib_seconds', default: 0 })
  memoryGibSeconds!: string;

  @Column({ type: 'numeric', name: 'cpu_amount', default: 0 })
  cpuAmount!: string;

  @Column({ type: 'numeric', name: 'memory_amount', default: 0 })
  memoryAmount!: string;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
