import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { IDEMPOTENCY_ABANDONED_MS, IDEMPOTENCY_TTL_MS } from './idempotency-key';
import { affected, execute, firstRow, rows } from './sql-rows';

/** The rows this repository reads, checked at the boundary (sql-rows.ts). */
const KeyRow = z.object({
  request_sha256: z.instanceof(Buffer),
  status: z.number().int().nullable(),
  body: z.instanceof(Buffer).nullable(),
});
const InsertedRow = z.unknown();

export type Claim =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly status: number; readonly body: Buffer }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in-progress' };

/** The idempotency_key table: one row per (principal, key), claimed before the handler runs. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Claims the key for this request, or says what holds it. Expired rows (older than 24 h, or
   * a first request abandoned for 10 min) are deleted first, so their key is free again. The
   * primary key makes two concurrent claims of one key produce exactly one winner.
   */
  async claim(principal: string, key: string, fingerprint: Buffer, attempt = 0): Promise<Claim> {
    await execute(
      this.dataSource,
      `DELETE FROM idempotency_key WHERE principal = $1 AND key = $2
         AND (created_at < now() - $3 * interval '1 millisecond'
              OR (status IS NULL AND created_at < now() - $4 * interval '1 millisecond'))`,
      [principal, key, IDEMPOTENCY_TTL_MS, IDEMPOTENCY_ABANDONED_MS],
    );
    const inserted = await rows(
      this.dataSource,
      InsertedRow,
      `INSERT INTO idempotency_key (principal, key, request_sha256) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [principal, key, fingerprint],
    );
    if (inserted.length === 1) return { kind: 'claimed' };
    const row = await firstRow(
      this.dataSource,
      KeyRow,
      `SELECT request_sha256, status, body FROM idempotency_key WHERE principal = $1 AND key = $2`,
      [principal, key],
    );
    // Gone between the insert and the select (its first request failed): claim it again.
    if (row === null) {
      return attempt < 3
        ? this.claim(principal, key, fingerprint, attempt + 1)
        : { kind: 'in-progress' };
    }
    if (!row.request_sha256.equals(fingerprint)) return { kind: 'mismatch' };
    if (row.status === null || row.body === null) return { kind: 'in-progress' };
    return { kind: 'replay', status: row.status, body: row.body };
  }

  async complete(principal: string, key: string, status: number, body: Buffer): Promise<void> {
    await execute(
      this.dataSource,
      `UPDATE idempotency_key SET status = $3, content_type = 'application/json', body = $4
       WHERE principal = $1 AND key = $2`,
      [principal, key, status, body],
    );
  }

  /** The first request failed: its key is free for a retry (errors are not replayed). */
  async release(principal: string, key: string): Promise<void> {
    await execute(
      this.dataSource,
      `DELETE FROM idempotency_key WHERE principal = $1 AND key = $2 AND status IS NULL`,
      [principal, key],
    );
  }

  /** Deletes every expired row (called at most once a minute). */
  async purge(): Promise<number> {
    return affected(
      this.dataSource,
      `DELETE FROM idempotency_key WHERE created_at < now() - $1 * interval '1 millisecond'`,
      [IDEMPOTENCY_TTL_MS],
    );
  }
}
