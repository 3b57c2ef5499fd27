import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** The first answer to a POST with an Idempotency-Key (billing-api), per principal and key. */
@Entity({ name: 'idempotency_key' })
@Index('idempotency_key_created', ['createdAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ type: 'text' })
  principal!: string;

  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ type: 'bytea', name: 'request_sha256' })
  requestSha256!: Buffer;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  /** Null while the first request is still running. */
  @Column({ type: 'integer', nullable: true })
  status!: number | null;

  @Column({ type: 'text', name: 'content_type', nullable: true })
  contentType!: string | null;

  @Column({ type: 'bytea', nullable: true })
  body!: Buffer | null;
}
