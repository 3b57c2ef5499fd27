import { z } from 'zod';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import { textArray } from './pg-arrays';

/** An outbox row: events of one key (their tenant), their JSON as published, in order. */
export interface OutboxRow {
  readonly id: string;
  readonly key: string;
  readonly values: readonly string[];
}

const idRow = z.object({ id: z.string() });
const eventRow = z.object({ id: z.string(), tenant_id: z.string(), payload: z.string() });
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
   * order of the key's first event) holding its events in order; returns the rows. The values
   * (JSON objects, as published) go as one JSON array of arrays, which `json` keeps byte for byte
   * in the stored `payloads` and when read back element by element: no escaping of each event's
   * quotes into an array literal (a text array would).
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
      const same = byKey.get(keys[i]!);
      if (same === undefined) byKey.set(keys[i]!, [values[i]!]);
      else same.push(values[i]!);
    }
    const groups = [...byKey];
    const rows = await this.db.rows(
      tx,
      idRow,
      `INSERT INTO usage_outbox (tenant_id, payloads, event_count)
       SELECT k.tenant_id, v.payloads, json_array_length(v.payloads)
       FROM unnest($1::text[]) WITH ORDINALITY AS k(tenant_id, n)
       JOIN json_array_elements($2::json) WITH ORDINALITY AS v(payloads, n) USING (n)
       ORDER BY n
       RETURNING id::text`,
      [
        textArray(groups.map(([key]) => key)),
        `[${groups.map(([, group]) => `[${group.join(',')}]`).join(',')}]`,
      ],
    );
    return rows.map((r, i) => ({ id: r.id, key: groups[i]![0], values: groups[i]![1] }));
  }

  /**
   * Outbox rows older than `minAgeMs` (not being published by the pass that wrote them), in id
   * order, while the events before them number fewer than `limit` (a row's events come whole).
   */
  async outboxBacklog(minAgeMs: number, limit: number): Promise<OutboxRow[]> {
    const events = await this.db.rows(
      null,
      eventRow,
      `WITH counted AS (
         SELECT id, n, sum(n) OVER (ORDER BY id) AS upto FROM (
           SELECT id, coalesce(event_count, 1) AS n FROM usage_outbox
           WHERE created_at < now() - $1::numeric * interval '1 ms'
           ORDER BY id LIMIT $2
         ) AS m
       )
       SELECT o.id::text, o.tenant_id, coalesce(e.v::text, o.payload) AS payload
       FROM usage_outbox o
       JOIN counted c ON c.id = o.id AND c.upto - c.n < $2
       LEFT JOIN LATERAL json_array_elements(o.payloads) WITH ORDINALITY AS e(v, k) ON true
       ORDER BY o.id, e.k`,
      [String(minAgeMs), limit],
    );
    const rows: { id: string; key: string; values: string[] }[] = [];
    for (const e of events) {
      const last = rows.at(-1);
      if (last?.id === e.id) last.values.push(e.payload);
      else rows.push({ id: e.id, key: e.tenant_id, values: [e.payload] });
    }
    return rows;
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
