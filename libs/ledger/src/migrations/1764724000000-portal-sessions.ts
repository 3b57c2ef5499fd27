import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The tenant portal's sign-in state (billing-api, docs/adr/0012-tenant-portal.md):
 * - `portal_session`: a browser session, found by SHA-256 of its cookie token (the token itself
 *   is never stored); the tenant, the API key it was exchanged for (null: an admin's read-only
 *   link), SHA-256 of its CSRF token, its idle clock (`last_seen_at`) and absolute end
 *   (`expires_at`). Revoking or deleting the key deletes its sessions (the revoke does it, the
 *   foreign key covers a deleted key).
 * - `portal_link`: an admin's one-time read-only link, by SHA-256 of its token; `used_at` is set
 *   by the one sign-in that consumes it.
 * Expired rows of both are deleted by billing-api's periodic purge.
 */
export class PortalSessions1764724000000 implements MigrationInterface {
  name = 'PortalSessions1764724000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE portal_session (
        token_sha256 bytea PRIMARY KEY CONSTRAINT portal_session_token_length_check CHECK (length(token_sha256) = 32),
        tenant_id text NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
        api_key_id text REFERENCES api_key (id) ON DELETE CASCADE,
        read_only boolean NOT NULL,
        csrf_sha256 bytea NOT NULL CONSTRAINT portal_session_csrf_length_check CHECK (length(csrf_sha256) = 32),
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT portal_session_link_read_only_check CHECK (api_key_id IS NOT NULL OR read_only)
      )`);
    await q.query(`CREATE INDEX portal_session_api_key ON portal_session (api_key_id)`);
    await q.query(`CREATE INDEX portal_session_expires ON portal_session (expires_at)`);
    await q.query(`CREATE INDEX portal_session_last_seen ON portal_session (last_seen_at)`);
    await q.query(`
      CREATE TABLE portal_link (
        token_sha256 bytea PRIMARY KEY CONSTRAINT portal_link_token_length_check CHECK (length(token_sha256) = 32),
        tenant_id text NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX portal_link_expires ON portal_link (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE portal_link`);
    await q.query(`DROP TABLE portal_session`);
  }
}
