import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * What billing-api's list and POST semantics need:
 * - `api_key.last_used_at`: when the key last authenticated a request, written at most once a
 *   minute per key (the UPDATE's WHERE refuses fresher writes), so a busy key costs one write a
 *   minute, not one per request.
 * - `idempotency_key`: the first answer to a POST sent with an `Idempotency-Key`, per principal
 *   and key, with the SHA-256 of method, path and body; `status` is null while the first request
 *   runs. Rows older than 24 h are ignored and purged.
 */
export class ApiResources1764723600000 implements MigrationInterface {
  name = 'ApiResources1764723600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_key ADD COLUMN last_used_at timestamptz`);
    await q.query(`
      CREATE TABLE idempotency_key (
        principal text NOT NULL,
        key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
        request_sha256 bytea NOT NULL CONSTRAINT idempotency_key_request_length_check CHECK (length(request_sha256) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        status integer CHECK (status BETWEEN 100 AND 599),
        content_type text,
        body bytea,
        PRIMARY KEY (principal, key)
      )`);
    await q.query(`CREATE INDEX idempotency_key_created ON idempotency_key (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_key`);
    await q.query(`ALTER TABLE api_key DROP COLUMN last_used_at`);
  }
}
