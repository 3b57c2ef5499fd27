import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export interface TierRecord {
  upTo: string | null;
  unitPrice: string;
}

/** One version of a price plan. Versions are immutable: a change is a new version. */
@Entity({ name: 'price_plan' })
export class PricePlanEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'text' })
  basis!: 'usage' | 'allocation' | 'max';

  /** Tiers per vCPU-hour, decimal strings; null: CPU is free. */
  @Column({ type: 'jsonb', name: 'cpu_tiers', nullable: true })
  cpuTiers!: TierRecord[] | null;

  /** Tiers per GiB-hour, decimal strings; null: memory is free. */
  @Column({ type: 'jsonb', name: 'memory_tiers', nullable: true })
  memoryTiers!: TierRecord[] | null;

  @Column({ type: 'numeric', default: 0 })
  minimum!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
