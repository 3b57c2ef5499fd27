import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * Usage of one resource in one hour of its tenant's billing zone. Exact units: CPU in
 * core-seconds, memory in byte-seconds (NUMERIC, never floats). Rows only ever grow by addition,
 * inside the transaction that also moves the consumer offsets. Its charge is a row of its own
 * (UsageBucketChargeEntity), which the rating batch never writes.
 */
@Entity({ name: 'usage_bucket' })
@Index('usage_bucket_tenant_time', ['tenantId', 'bucketStart'])
export class UsageBucketEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @PrimaryColumn({ type: 'timestamptz', name: 'bucket_start' })
  bucketStart!: Date;

  @Column({ type: 'text', name: 'resource_kind' })
  resourceKind!: 'container' | 'vm';

  @Column({ type: 'numeric', name: 'cpu_usage_core_seconds', default: 0 })
  cpuUsageCoreSeconds!: string;

  @Column({ type: 'numeric', name: 'cpu_allocation_core_seconds', default: 0 })
  cpuAllocationCoreSeconds!: string;

  @Column({ type: 'numeric', name: 'cpu_max_core_seconds', default: 0 })
  cpuMaxCoreSeconds!: string;

  @Column({ type: 'numeric', name: 'memory_usage_byte_seconds', default: 0 })
  memoryUsageByteSeconds!: string;

  @Column({ type: 'numeric', name: 'memory_allocation_byte_seconds', default: 0 })
  memoryAllocationByteSeconds!: string;

  @Column({ type: 'numeric', name: 'memory_max_byte_seconds', default: 0 })
  memoryMaxByteSeconds!: string;

  @Column({ type: 'bigint', name: 'observed_ms', default: 0 })
  observedMs!: string;

  @Column({ type: 'bigint', name: 'gap_ms', default: 0 })
  gapMs!: string;

  /** Completeness counters (docs/adr/0013-completeness.md, libs/pricing completeness.ts). */
  @Column({ type: 'bigint', name: 'inferred_gap_ms', default: 0 })
  inferredGapMs!: string;

  @Column({ type: 'bigint', name: 'samples_expected', default: 0 })
  samplesExpected!: string;

  @Column({ type: 'bigint', name: 'samples_observed', default: 0 })
  samplesObserved!: string;

  @Column({ type: 'bigint', name: 'samples_thinned', default: 0 })
  samplesThinned!: string;

  @Column({ type: 'bigint', name: 'declared_ms', default: 0 })
  declaredMs!: string;

  @Column({ type: 'bigint', name: 'declared_gap_ms', default: 0 })
  declaredGapMs!: string;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
