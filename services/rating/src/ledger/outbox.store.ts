import { z } from 'zod';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import { textArray } from './pg-arrays';

/** An outbox row: the event's key (tenant) and JSON. */
export interface OutboxRow {
  readonly id: string;
  readonly key: string;
  readonly value: string;
}

const idRow = z.object({ id: z.string() });
const outboxRow = z
  .object({ id: z.string(), tenant_id: z.string(), payload: z.string() })
  .transform((r): OutboxRow => ({ id: r.id, key: r.tenant_id, value: r.payload }));
const depthRow = z.object({ n: z.string(), age: z.string().nullable() });

/**
 * The usage outbox (publishing/usage-event.outbox.ts): the complete windows staged in the pricing
 * stage's transaction (idle ones too: pricing.store.ts), and the rows published and deleted after.
 */
export class OutboxStore {
  constructor(private readonly db: LedgerDb) {}

  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Adds complete usage events to the outbox, in the caller's transaction; returns their ids.
   * The values (JSON objects, as published) go as one JSON array, which `json` keeps byte for
   * byte: no escaping of each event's quotes into an array literal (a text array would).
   */
  async addToOutbox(
    tx: LedgerTx,
    events: { readonly keys: readonly string[]; readonly values: readonly string[] },
  ): Promise<string[]> {
    if (events.keys.length === 0) return [];
    if (events.values.length !== events.keys.length) {
      throw new RangeError(`${events.keys.length} keys for ${events.values.length} events`);
    }
    const rows = await this.db.rows(
      tx,
      idRow,
      `INSERT INTO usage_outbox (tenant_id, payload)
       SELECT k.tenant_id, v.payload::text
       FROM unnest($1::text[]) WITH ORDINALITY AS k(tenant_id, n)
       JOIN json_array_elements($2::json) WITH ORDINALITY AS v(payload, n) USING (n)
       ORDER BY n
       RETURNING id::text`,
      [textArray(events.keys), `[${events.values.join(',')}]`],
    );
    return rows.map((r) => r.id);
  }

  /** Outbox rows older than `minAgeMs` (not being published by the batch that wrote them). */
  outboxBacklog(minAgeMs: number, limit: number): Promise<OutboxRow[]> {
    return this.db.rows(
      null,
      outboxRow,
      `SELECT id::text, tenant_id, payload FROM usage_outbox
       WHERE created_at < now() - $1::numeric * interval '1 ms'
       ORDER BY id LIMIT $2`,
      [String(minAgeMs), limit],
    );
  }

  /** Events Kafka has acknowledged. */
  async deleteFromOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(null, `DELETE FROM usage_outbox WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /** Rows waiting in the outbox and the age of the oldest, in seconds (the outbox gauges). */
  async outboxDepth(): Promise<{ rows: number; oldestSeconds: number }> {
    const rows = await this.db.rows(
      null,
      depthRow,
      `SELECT count(*)::text AS n, extract(epoch from now() - min(created_at))::text AS age
       FROM usage_outbox`,
    );
    return { rows: Number(rows[0]?.n ?? 0), oldestSeconds: Number(rows[0]?.age ?? 0) };
  }
}
