import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { type ConsumedBatch } from '@metering/kafka';
import { uniqueName } from '@metering/testing';
import { TenantAffinity } from '../src/pricing/tenant-affinity';
import {
  OutboxStaging,
  batchOf,
  processorOn,
  stageOf,
  tieredLedger,
  within,
} from './processor-harness';

// Months a backlog touched wait for the pricing stage's delay (RATING_PRICING_BACKLOG_DELAY_MS,
// docs/adr/0014-rating-scale-out.md "Fewer passes a month"), on a real PostgreSQL ledger: a batch
// that leaves its partition behind the broker defers its months' passes, one that finds the
// partition caught up prices them at once, and the ledger ends exactly as if every batch had been
// priced at once.

const TENANTS = ['t-a', 't-b', 'ü\u4e2d-c'];
const GROUP = 'backlog';
const SIZE = { resources: 6, samplesPerResource: 20 };
const BATCHES = [0, 1, 2].map((p) => batchOf(p, 41 + p, TENANTS, SIZE));

/** The batch as rated in a backlog: the broker holds `more` messages of the partition past it. */
function behind(batch: ConsumedBatch, more: bigint): ConsumedBatch {
  return { ...batch, highWatermark: String(BigInt(batch.nextOffset) + more) };
}

/** The batch with its offsets moved to start at `from`, the partition caught up after it. */
function offsetsFrom(batch: ConsumedBatch, from: bigint): ConsumedBatch {
  const messages = batch.messages.map((m, i) => ({ ...m, offset: String(from + BigInt(i)) }));
  const next = String(from + BigInt(messages.length));
  return {
    ...batch,
    messages,
    firstOffset: messages[0]!.offset,
    lastOffset: messages.at(-1)!.offset,
    nextOffset: next,
    highWatermark: next,
  };
}

async function unpricedRows(ds: DataSource): Promise<number> {
  const rows = await ds.query<{ n: number }[]>(
    'SELECT count(*)::int AS n FROM rating_unpriced_usage',
  );
  return rows[0]!.n;
}

/** Each month's position, and its charge as the sum of its buckets' charges. */
function positions(ds: DataSource): Promise<unknown[]> {
  return ds.query<unknown[]>(
    `SELECT p.tenant_id, p.period, p.cpu_core_seconds::text, p.memory_gib_seconds::text,
            (p.cpu_amount + p.memory_amount)::text AS amount,
            (SELECT sum(c.amount) FROM usage_bucket_charge c
             WHERE c.tenant_id = p.tenant_id)::text AS bucket_amounts
     FROM tenant_month_position p ORDER BY 1, 2`,
  );
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rating: months behind a backlog are priced after the delay (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string }[] = [];

  after(async () => {
    for (const { ds, schema } of opened.reverse()) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  /** A processor whose stage prices every tenant (it is assigned every partition). */
  async function rating(prefix: string, backlogDelayMs: number) {
    const schema = uniqueName(prefix);
    const ds = await tieredLedger({ schema, tenants: TENANTS, create: true });
    opened.push({ ds, schema });
    const affinity = new TenantAffinity(6);
    affinity.assigned([0, 1, 2, 3, 4, 5]);
    const priced: string[] = [];
    const processor = processorOn(ds, new OutboxStaging(), {
      groupId: GROUP,
      drain: false,
      affinity,
      backlogDelayMs,
      priced: (t) => priced.push(t),
    });
    return { ds, processor, priced };
  }

  async function reference(extra: ConsumedBatch): Promise<unknown[]> {
    const { ds, processor } = await rating('backlog_ref', 0);
    for (const batch of [...BATCHES, extra]) {
      await processor.process(batch);
      await within(stageOf(processor).drain(), 'the reference drained');
    }
    await stageOf(processor).stop();
    return positions(ds);
  }

  test('deferred while behind, priced at once when caught up, and the ledger exactly as priced at once', async () => {
    const last = offsetsFrom(batchOf(0, 71, TENANTS, SIZE), BigInt(BATCHES[0]!.nextOffset));
    const { ds, processor, priced } = await rating('backlog', 60_000);
    for (const batch of BATCHES) await processor.process(behind(batch, 1_000n));
    // Longer than the passes' gathering (200 ms): behind a backlog, nothing is priced yet.
    await pause(600);
    assert.equal(priced.length, 0, 'no pass within the delay');
    assert.ok((await unpricedRows(ds)) > 0);
    // Partition 0 catches up: its months are priced at once (every batch touches every tenant).
    await processor.process(last);
    const everyTenant = async (): Promise<void> => {
      while (!TENANTS.every((t) => priced.includes(t))) await pause(20);
    };
    await within(everyTenant(), "a caught-up batch's months priced at once", 10_000);
    assert.equal(priced.length, TENANTS.length, 'one pass a month for all the batches');
    assert.equal(await unpricedRows(ds), 0);
    const found = await positions(ds);
    assert.equal(found.length, TENANTS.length);
    for (const p of found as { amount: string; bucket_amounts: string }[])
      assert.equal(Number(p.amount), Number(p.bucket_amounts));
    assert.deepEqual(found, await reference(last));
    await stageOf(processor).stop();
  });

  test('behind a backlog with no batch caught up: priced once the delay is over, not before', async () => {
    const { ds, processor, priced } = await rating('backlog_delay', 1_500);
    const started = Date.now();
    for (const batch of BATCHES) await processor.process(behind(batch, 1n));
    assert.equal(priced.length, 0, 'none priced at the commits');
    const everyTenant = async (): Promise<void> => {
      while (!TENANTS.every((t) => priced.includes(t))) await pause(20);
    };
    await within(everyTenant(), 'priced once the delay is over', 10_000);
    const waited = Date.now() - started;
    assert.ok(waited >= 1_400, `not before the delay (${waited} ms)`);
    assert.equal(await unpricedRows(ds), 0);
    await stageOf(processor).stop();
  });
});
