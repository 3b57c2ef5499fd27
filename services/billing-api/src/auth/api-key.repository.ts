import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { execute, firstRow, rows } from '../common/sql-rows';

/** The rows this repository reads, checked at the boundary (common/sql-rows.ts). */
const CreatedRow = z.object({ created_at: z.date() });
const ActiveKeyRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  secret_sha256: z.instanceof(Buffer),
});
const IdRow = z.object({ id: z.string() });
const KeySummaryDbRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  created_at: z.date(),
  revoked_at: z.date().nullable(),
  last_used_at: z.date().nullable(),
});

export interface KeySummaryRow {
  readonly id: string;
  readonly tenantId: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export interface KeyFilter {
  readonly tenantId?: string | undefined;
  readonly status?: 'active' | 'revoked' | undefined;
}

export interface StoredKey {
  readonly id: string;
  readonly tenantId: string;
  readonly secretSha256: Buffer;
}

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(id: string, tenantId: string, secretSha256: Buffer): Promise<Date> {
    const row = await firstRow(
      this.dataSource,
      CreatedRow,
      `INSERT INTO api_key (id, tenant_id, secret_sha256) VALUES ($1, $2, $3) RETURNING created_at`,
      [id, tenantId, secretSha256],
    );
    return row?.created_at ?? new Date();
  }

  /** A key that is not revoked. */
  async findActive(id: string): Promise<StoredKey | null> {
    const row = await firstRow(
      this.dataSource,
      ActiveKeyRow,
      `SELECT id, tenant_id, secret_sha256 FROM api_key WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    return row === null
      ? null
      : { id: row.id, tenantId: row.tenant_id, secretSha256: row.secret_sha256 };
  }

  /**
   * Revokes the tenant's key and ends the portal sessions opened with it, in one statement;
   * false when it has no such active key.
   */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const revoked = await rows(
      this.dataSource,
      IdRow,
      `WITH revoked AS (
         UPDATE api_key SET revoked_at = now()
         WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
         RETURNING id
       ), ended AS (
         DELETE FROM portal_session WHERE api_key_id IN (SELECT id FROM revoked)
       )
       SELECT id FROM revoked`,
      [id, tenantId],
    );
    return revoked.length > 0;
  }

  /** Records a use unless one was recorded within `resolutionMs` (by any replica). */
  async touch(id: string, at: Date, resolutionMs: number): Promise<void> {
    await execute(
      this.dataSource,
      `UPDATE api_key SET last_used_at = $2
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - $3 * interval '1 millisecond')`,
      [id, at, resolutionMs],
    );
  }

  /** Keys in id order after `afterId` (keyset), filtered. */
  async page(filter: KeyFilter, afterId: string | null, limit: number): Promise<KeySummaryRow[]> {
    const found = await rows(
      this.dataSource,
      KeySummaryDbRow,
      `SELECT id, tenant_id, created_at, revoked_at, last_used_at FROM api_key
       WHERE ($1::text IS NULL OR id > $1)
         AND ($2::text IS NULL OR tenant_id = $2)
         AND ($3::text IS NULL OR ($3 = 'active') = (revoked_at IS NULL))
       ORDER BY id LIMIT $4`,
      [afterId, filter.tenantId ?? null, filter.status ?? null, limit],
    );
    return found.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      lastUsedAt: r.last_used_at,
    }));
  }
}
