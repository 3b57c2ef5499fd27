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

  /** The buyer's billing details (PATCH /v1/tenants/:id); null until set. */
  @Column({ type: 'text', name: 'legal_name', nullable: true })
  legalName!: string | null;

  @Column({ type: 'text', array: true, nullable: true })
  address!: string[] | null;

  @Column({ type: 'text', name: 'tax_id', nullable: true })
  taxId!: string | null;

  @Column({ type: 'text', nullable: true })
  email!: string | null;

  /** Percent, 0…100, exact; null: no tax line. */
  @Column({ type: 'numeric', name: 'tax_rate', nullable: true })
  taxRate!: string | null;

  @Column({ type: 'text', name: 'tax_exemption_reason', nullable: true })
  taxExemptionReason!: string | null;

  @Column({ type: 'integer', name: 'payment_terms_days', default: 30 })
  paymentTermsDays!: number;

  @Column({ type: 'text', default: 'en' })
  locale!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
