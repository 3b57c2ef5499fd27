import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'tenant' })
export class TenantEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  /** IANA zone of the tenant's billing month (and of the ledger's hour buckets). */
  @Column({ type: 'text', name: 'time_zone', default: 'UTC' })
  timeZone!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
