import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/** A final invoice: numbered, immutable content (JSON) and the SHA-256 of its canonical JSON. */
@Entity({ name: 'invoice' })
@Unique('invoice_number_key', ['number'])
@Unique('invoice_period_sequence_key', ['period', 'sequence'])
export class InvoiceEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'text' })
  number!: string;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'numeric' })
  total!: string;

  @Column({ type: 'jsonb' })
  content!: unknown;

  @Column({ type: 'char', length: 64, name: 'content_hash' })
  contentHash!: string;

  @Column({ type: 'timestamptz', name: 'finalized_at', default: () => 'now()' })
  finalizedAt!: Date;
}
