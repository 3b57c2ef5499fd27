import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { affected, execute, firstRow } from '../common/sql-rows';

export interface NewSession {
  readonly tokenSha256: Buffer;
  readonly tenantId: string;
  readonly apiKeyId: string | null;
  readonly readOnly: boolean;
  readonly csrfSha256: Buffer;
  readonly nowMs: number;
  readonly expiresAtMs: number;
}

/** A live session as found (and its idle clock moved) by `touch`. */
export interface SessionRow {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly apiKeyId: string | null;
  readonly readOnly: boolean;
  readonly csrfSha256: Buffer;
  readonly lastSeenAt: Date;
  readonly expiresAt: Date;
}

/** The rows this repository reads, checked at the boundary (common/sql-rows.ts). */
const SessionDbRow = z.object({
  tenant_id: z.string(),
  tenant_name: z.string(),
  time_zone: z.string(),
  currency: z.string(),
  api_key_id: z.string().nullable(),
  read_only: z.boolean(),
  csrf_sha256: z.instanceof(Buffer),
  last_seen_at: z.date(),
  expires_at: z.date(),
});
const LinkRow = z.object({ tenant_id: z.string() });

/** portal_session and portal_link (libs/ledger migration PortalSessions1764724000000). */
@Injectable()
export class PortalSessionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(s: NewSession): Promise<void> {
    await execute(
      this.dataSource,
      `INSERT INTO portal_session
         (token_sha256, tenant_id, api_key_id, read_only, csrf_sha256, created_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
      [
        s.tokenSha256,
        s.tenantId,
        s.apiKeyId,
        s.readOnly,
        s.csrfSha256,
        new Date(s.nowMs),
        new Date(s.expiresAtMs),
      ],
    );
  }

  /**
   * The session if it is live at `nowMs` (before its absolute end, used within `idleMs`, its key
   * not revoked), its idle clock moved to `nowMs` in the same statement; else null, and a dead
   * row is deleted at once (no later moment can make it live again).
   */
  async touch(tokenSha256: Buffer, nowMs: number, idleMs: number): Promise<SessionRow | null> {
    const now = new Date(nowMs);
    const row = await firstRow(
      this.dataSource,
      SessionDbRow,
      `UPDATE portal_session s SET last_seen_at = greatest(s.last_seen_at, $2)
       FROM tenant t
       WHERE s.token_sha256 = $1 AND t.id = s.tenant_id
         AND s.expires_at > $2
         AND s.last_seen_at > $2::timestamptz - $3 * interval '1 millisecond'
         AND (s.api_key_id IS NULL OR EXISTS (
           SELECT 1 FROM api_key k WHERE k.id = s.api_key_id AND k.revoked_at IS NULL))
       RETURNING s.tenant_id, t.name AS tenant_name, t.time_zone, t.currency, s.api_key_id,
                 s.read_only, s.csrf_sha256, s.last_seen_at, s.expires_at`,
      [tokenSha256, now, idleMs],
    );
    if (row === null) {
      await this.delete(tokenSha256);
      return null;
    }
    return {
      tenantId: row.tenant_id,
      tenantName: row.tenant_name,
      timeZone: row.time_zone,
      currency: row.currency,
      apiKeyId: row.api_key_id,
      readOnly: row.read_only,
      csrfSha256: row.csrf_sha256,
      lastSeenAt: row.last_seen_at,
      expiresAt: row.expires_at,
    };
  }

  async delete(tokenSha256: Buffer): Promise<void> {
    await execute(this.dataSource, `DELETE FROM portal_session WHERE token_sha256 = $1`, [
      tokenSha256,
    ]);
  }

  async insertLink(
    tokenSha256: Buffer,
    tenantId: string,
    nowMs: number,
    expiresAtMs: number,
  ): Promise<void> {
    await execute(
      this.dataSource,
      `INSERT INTO portal_link (token_sha256, tenant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
      [tokenSha256, tenantId, new Date(nowMs), new Date(expiresAtMs)],
    );
  }

  /** Uses the link once: its tenant, or null when unknown, used or expired. */
  async consumeLink(tokenSha256: Buffer, nowMs: number): Promise<string | null> {
    const link = await firstRow(
      this.dataSource,
      LinkRow,
      `UPDATE portal_link SET used_at = $2
       WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2
       RETURNING tenant_id`,
      [tokenSha256, new Date(nowMs)],
    );
    return link?.tenant_id ?? null;
  }

  /** Deletes sessions and links that can no longer be used; how many of each. */
  async purge(nowMs: number, idleMs: number): Promise<{ sessions: number; links: number }> {
    const now = new Date(nowMs);
    const sessions = await affected(
      this.dataSource,
      `DELETE FROM portal_session
       WHERE expires_at <= $1 OR last_seen_at <= $1::timestamptz - $2 * interval '1 millisecond'`,
      [now, idleMs],
    );
    const links = await affected(
      this.dataSource,
      `DELETE FROM portal_link WHERE expires_at <= $1`,
      [now],
    );
    return { sessions, links };
  }
}
