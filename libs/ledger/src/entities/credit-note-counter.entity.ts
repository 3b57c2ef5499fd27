import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The last credit-note sequence number taken in a year; its row lock keeps numbering gap-free. */
@Entity({ name: 'credit_note_counter' })
export class CreditNoteCounterEntity {
  @PrimaryColumn({ type: 'integer' })
  year!: number;

  @Column({ type: 'integer', name: 'last_sequence', default: 0 })
  lastSequence!: number;
}
