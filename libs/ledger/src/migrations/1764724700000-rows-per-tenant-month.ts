import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Rows per tenant month, not per piece or event (docs/adr/0014-rating-scale-out.md, "A row per
 * tenant month, and passes of several months tried"): a rating batch writes its unpriced pieces
 * of a tenant month as one `rating_unpriced_usage` row (`piece` holds their JSON array,
 * `piece_count` how many), and a pricing pass stages its usage events as one `usage_outbox` row
 * (`payloads`, the events as published, byte for byte, one a line: JSON never holds a raw line
 * feed; `event_count`). Text, not json: a row is written once and read once, and parsing a pass's
 * events to store them cost PostgreSQL more than the rest of the insert. Additive: rows of the
 * old shape (one piece, one `payload`) stay valid and are read as rows of one, so a rolling
 * upgrade loses nothing. A previous version's rating that meets a row of the new shape fails its
 * pass or sweep (its reader expects an object, or a payload) and leaves it to a new one: it never
 * prices a month out of order or publishes a row of many events as one. `down` splits the rows
 * back, in order.
 */
export class RowsPerTenantMonth1764724700000 implements MigrationInterface {
  name = 'RowsPerTenantMonth1764724700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rating_unpriced_usage ADD COLUMN piece_count integer`);
    await q.query(`ALTER TABLE rating_unpriced_usage ALTER COLUMN resource_id DROP NOT NULL`);
    await q.query(`ALTER TABLE rating_unpriced_usage ALTER COLUMN instance_id DROP NOT NULL`);
    await q.query(`ALTER TABLE usage_outbox ADD COLUMN payloads text`);
    await q.query(`ALTER TABLE usage_outbox ADD COLUMN event_count integer`);
    await q.query(`ALTER TABLE usage_outbox ALTER COLUMN payload DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Every row again as rows of one, in the order they were in (new ids, the same order).
    await q.query(`
      WITH old AS (DELETE FROM rating_unpriced_usage RETURNING *)
      INSERT INTO rating_unpriced_usage (tenant_id, period, resource_id, instance_id, piece,
        created_at)
      SELECT o.tenant_id, o.period, e.p ->> 'resourceId', e.p ->> 'instanceId', e.p, o.created_at
      FROM old o, jsonb_array_elements(CASE jsonb_typeof(o.piece) WHEN 'array' THEN o.piece
                                       ELSE jsonb_build_array(o.piece) END)
        WITH ORDINALITY AS e(p, n)
      ORDER BY o.id, e.n`);
    await q.query(`
      WITH old AS (DELETE FROM usage_outbox RETURNING *)
      INSERT INTO usage_outbox (tenant_id, payload, created_at)
      SELECT o.tenant_id, coalesce(e.v, o.payload), o.created_at
      FROM old o LEFT JOIN LATERAL unnest(string_to_array(o.payloads, E'\\n'))
        WITH ORDINALITY AS e(v, n) ON true
      ORDER BY o.id, e.n`);
    await q.query(`ALTER TABLE usage_outbox ALTER COLUMN payload SET NOT NULL`);
    await q.query(`ALTER TABLE usage_outbox DROP COLUMN event_count`);
    await q.query(`ALTER TABLE usage_outbox DROP COLUMN payloads`);
    await q.query(`ALTER TABLE rating_unpriced_usage ALTER COLUMN instance_id SET NOT NULL`);
    await q.query(`ALTER TABLE rating_unpriced_usage ALTER COLUMN resource_id SET NOT NULL`);
    await q.query(`ALTER TABLE rating_unpriced_usage DROP COLUMN piece_count`);
  }
}
