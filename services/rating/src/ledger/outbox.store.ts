import { z } from 'zod';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import { plainArray, textArray } from './pg-arrays';

/** An outbox row: events of one key (their tenant), their JSON as published, in order. */
export interface OutboxRow {
  readonly id: string;
  readonly key: string;
  readonly values: readonly string[];
}

const idRow = z.object({ id: z.string() });
/** Between the rows' texts in addToOutbox's one text. */
const RS = '\u001e';
const backlogRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  payloads: z.string().nullable(),
  payload: z.string().nullable(),
});
const depthRow = z.object({ n: z.string().nullable(), age: z.string().nullable() });

/**
 * The usage outbox (publishing/usage-event.outbox.ts): the complete windows staged in the pricing
 * stage's transaction (idle ones too: pricing.store.ts), a row per key (a pass's events: one
 * tenant, one row), and the rows published and deleted after. Rows of the old shape (one event in
 * `payload`, before migration RowsPerTenantMonth1764724700000) are read as rows of one.
 */
export class OutboxStore {
  constructor(private readonly db: LedgerDb) {}

  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Adds complete usage events to the outbox, in the caller's transaction: a row per key (in the
   * order of the key's first event) holding its events in order, one a line (`payloads`, text
   * kept byte for byte); returns the rows. The rows' texts go as one text, cut where a record
   * separator (U+001E) stands: no escaping of each event's quotes into an array literal, and no
   * JSON parse of a pass's events (both cost PostgreSQL more than the insert: docs/adr/0014). So
   * a value holding a line feed or a record separator is refused: JSON as encoded never holds one
   * raw (JSON.stringify escapes control characters).
   */
  async addToOutbox(
    tx: LedgerTx,
    events: { readonly keys: readonly string[]; readonly values: readonly string[] },
  ): Promise<OutboxRow[]> {
    const { keys, values } = events;
    if (values.length !== keys.length) {
      throw new RangeError(`${keys.length} keys for ${values.length} events`);
    }
    if (keys.length === 0) return [];
    const byKey = new Map<string, string[]>();
    for (let i = 0; i < keys.length; i++) {
      const value = values[i]!;
      if (value.includes('\n') || value.includes(RS))
        throw new RangeError(`event ${i} holds a line feed or a record separator`);
      const same = byKey.get(keys[i]!);
      if (same === undefined) byKey.set(keys[i]!, [value]);
      else same.push(value);
    }
    const groups = [...byKey];
    const rows = await this.db.rows(
      tx,
      idRow,
      `INSERT INTO usage_outbox (tenant_id, payloads, event_count)
       SELECT k, p, c
       FROM unnest($1::text[], string_to_array($2, E'\\x1e'), $3::int[])
         WITH ORDINALITY AS x(k, p, c, n)
       ORDER BY n
       RETURNING id::text`,
      [
        textArray(groups.map(([key]) => key)),
        groups.map(([, group]) => group.join('\n')).join(RS),
        plainArray(groups.map(([, group]) => String(group.length))),
      ],
    );
    return rows.map((r, i) => ({ id: r.id, key: groups[i]![0], values: groups[i]![1] }));
  }

  /**
   * Outbox rows older than `minAgeMs` (not being published by the pass that wrote them), in id
   * order, while the events before them number fewer than `limit` (a row's events come whole).
   */
  async outboxBacklog(minAgeMs: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.db.rows(
      null,
      backlogRow,
      `WITH counted AS (
         SELECT id, n, sum(n) OVER (ORDER BY id) AS upto FROM (
           SELECT id, coalesce(event_count, 1) AS n FROM usage_outbox
           WHERE created_at < now() - $1::numeric * interval '1 ms'
           ORDER BY id LIMIT $2
         ) AS m
       )
       SELECT o.id::text, o.tenant_id, o.payloads, o.payload
       FROM usage_outbox o JOIN counted c ON c.id = o.id AND c.upto - c.n < $2
       ORDER BY o.id`,
      [String(minAgeMs), limit],
    );
    return rows.map((r) => ({
      id: r.id,
      key: r.tenant_id,
      values: r.payloads !== null ? r.payloads.split('\n') : r.payload !== null ? [r.payload] : [],
    }));
  }

  /** Rows whose events Kafka has acknowledged. */
  async deleteFromOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(null, `DELETE FROM usage_outbox WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /** Events waiting in the outbox and the age of the oldest, in seconds (the outbox gauges). */
  async outboxDepth(): Promise<{ events: number; oldestSeconds: number }> {
    const rows = await this.db.rows(
      null,
      depthRow,
      `SELECT sum(coalesce(event_count, 1))::text AS n,
              extract(epoch from now() - min(created_at))::text AS age
       FROM usage_outbox`,
    );
    return { events: Number(rows[0]?.n ?? 0), oldestSeconds: Number(rows[0]?.age ?? 0) };
  }
}
