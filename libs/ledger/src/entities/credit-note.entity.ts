import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

/** A credit note correcting a final invoice: final on creation, immutable, hashed like invoices. */
@Entity({ name: 'credit_note' })
@Unique('credit_note_year_sequence_key', ['year', 'sequence'])
@Index('credit_note_invoice', ['tenantId', 'period'])
export class CreditNoteEntity {
  @PrimaryColumn({ type: 'text' })
  number!: string;

  @Column({ type: 'integer' })
  year!: number;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @Column({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'text', name: 'invoice_number' })
  invoiceNumber!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'numeric' })
  net!: string;

  @Column({ type: 'numeric' })
  tax!: string;

  @Column({ type: 'numeric' })
  gross!: string;

  @Column({ type: 'jsonb' })
  content!: unknown;

  @Column({ type: 'char', length: 64, name: 'content_hash' })
  contentHash!: string;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
