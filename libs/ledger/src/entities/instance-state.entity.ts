import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The last accepted sample of an instance: what the next sample's delta is taken against. */
@Entity({ name: 'instance_state' })
export class InstanceStateEntity {
  @PrimaryColumn({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @PrimaryColumn({ type: 'text', name: 'instance_id' })
  instanceId!: string;

  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @Column({ type: 'text', name: 'resource_kind' })
  resourceKind!: 'container' | 'vm';

  @Column({ type: 'timestamptz', name: 'started_at', precision: 3 })
  startedAt!: Date;

  @Column({ type: 'timestamptz', name: 'last_observed_at', precision: 3 })
  lastObservedAt!: Date;

  @Column({ type: 'numeric', name: 'last_cpu_usage_ns' })
  lastCpuUsageNs!: string;

  @Column({ type: 'numeric', name: 'last_memory_usage_bytes' })
  lastMemoryUsageBytes!: string;

  @Column({ type: 'numeric', name: 'last_cpu_allocation_cores', nullable: true })
  lastCpuAllocationCores!: string | null;

  @Column({ type: 'numeric', name: 'last_memory_allocation_bytes', nullable: true })
  lastMemoryAllocationBytes!: string | null;

  @Column({ type: 'boolean', default: false })
  final!: boolean;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
