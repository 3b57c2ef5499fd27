import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The last invoice sequence number taken in a period; its row lock makes numbering gap-free. */
@Entity({ name: 'invoice_counter' })
export class InvoiceCounterEntity {
  @PrimaryColumn({ type: 'char', length: 7 })
  period!: string;

  @Column({ type: 'integer', name: 'last_sequence', default: 0 })
  lastSequence!: number;
}
