import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The PDF of a final invoice or credit note, rendered once, with the SHA-256 of its bytes. */
@Entity({ name: 'document_pdf' })
export class DocumentPdfEntity {
  /** The document's number (INV-… or CN-…). */
  @PrimaryColumn({ type: 'text' })
  number!: string;

  @Column({ type: 'bytea' })
  pdf!: Buffer;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
