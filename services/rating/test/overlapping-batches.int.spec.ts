import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { type LedgerTx } from '../src/ledger/ledger-db';
import { type ConsumedBatch } from '@metering/kafka';
import { uniqueName } from '@metering/testing';
import { type PricedUsage } from '../src/domain';
import { type SampleBatchProcessor } from '../src/consuming/sample-batch.processor';
import { PositionConflictError } from '../src/ledger/batch-ledger.store';
import { type StagedUsage, type UsageEventSink } from '../src/publishing/usage-event.outbox';
import {
  type Deferred,
  batchOf,
  deferred,
  processorOn,
  tieredLedger,
  within,
  stageIntoOutbox,
} from './processor-harness';

// Two batches of one tenant's month, from two partitions, in one process: the second is priced
// from the month position the first moved but has not committed yet (it is still publishing), so
// their publishing overlaps. When the first commits, the second stores what it priced; when the
// first rolls back, the second must notice (PositionConflictError) and roll back too. Either way,
// once both are in, the ledger equals rating the two batches one after the other.
// Real PostgreSQL; the usage event sink stages into the real outbox but holds or fails the first
// batch's staging (what the batches overlap on).

const TENANT = 'acme';
const GROUP = 'overlap';
const SIZE = { resources: 3, samplesPerResource: 40 };

/** Committed before the others: the month position row exists, with values, when they run. */
const EARLIER = batchOf(2, 303, [TENANT], SIZE);
const FIRST = batchOf(0, 101, [TENANT], SIZE);
const SECOND = batchOf(1, 202, [TENANT], SIZE);
const resourcesOf = (b: ConsumedBatch) =>
  new Set(
    b.messages.map(
      (m) => (JSON.parse(m.value!.toString()) as { resource: { id: string } }).resource.id,
    ),
  );
const FIRST_RESOURCES = resourcesOf(FIRST);

/** A ledger schema with the tenant on a tiered plan and the earlier batch in it. */
async function ledgerWorld(): Promise<{ ds: DataSource; schema: string }> {
  const schema = uniqueName('overlap');
  const ds = await tieredLedger({ schema, tenants: [TENANT], create: true });
  await processorOn(ds, new GatedUsageSink(false), { groupId: GROUP }).process(EARLIER);
  return { ds, schema };
}

/**
 * The usage sink: stages into the real outbox (with a fixed ratedAt, so rows compare), but the
 * first batch's staging waits until the second batch stages (so the second was priced while the
 * first was in flight), then succeeds or fails as told.
 */
class GatedUsageSink implements UsageEventSink {
  readonly secondPublished = deferred();
  readonly published: PricedUsage[][] = [];
  failFirst = false;

  constructor(public gate = true) {}

  ready(): Promise<void> {
    return Promise.resolve();
  }

  async stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    // Each batch closes windows (60 s windows over ~400 s of samples): they tell whose it is.
    const first = closed.some((u) => FIRST_RESOURCES.has(u.resourceId));
    if (this.gate && first) {
      await within(this.secondPublished.promise, 'the second batch staging beside the first');
      // An infrastructure failure (retriable): the batch rolls back and is retried whole.
      if (this.failFirst)
        throw Object.assign(new Error('the outbox did not take it (stand-in)'), {
          retriable: true,
        });
    }
    if (!first) this.secondPublished.resolve();
    this.published.push([...closed]);
    return stageIntoOutbox(tx, closed);
  }

  committed(): void {}
}

/** Everything the batches leave in the ledger, as text (exact NUMERIC values). */
async function snapshot(ds: DataSource): Promise<unknown> {
  return {
    buckets: await ds.query<unknown[]>(
      `SELECT resource_id, bucket_start, cpu_usage_core_seconds::text, memory_usage_byte_seconds::text,
              amount::text FROM usage_bucket ORDER BY 1, 2`,
    ),
    positions: await ds.query<unknown[]>(
      `SELECT tenant_id, period, cpu_core_seconds::text, memory_gib_seconds::text, cpu_amount::text,
              memory_amount::text FROM tenant_month_position ORDER BY 1, 2`,
    ),
    offsets: await ds.query<unknown[]>(
      `SELECT partition, next_offset::text FROM consumer_offset WHERE group_id = $1 ORDER BY 1`,
      [GROUP],
    ),
    states: await ds.query<unknown[]>(
      `SELECT resource_id, instance_id, pending_usage FROM instance_state ORDER BY 1, 2`,
    ),
    outbox: await ds.query<unknown[]>(`SELECT payload FROM usage_outbox ORDER BY 1`),
  };
}

/** Starts the first batch, and the second once the first has been priced (is publishing). */
async function overlapped(processor: SampleBatchProcessor, firstPriced: Deferred) {
  const first = processor.process(FIRST);
  first.catch(() => undefined); // inspected below
  await within(firstPriced.promise, 'the first batch priced');
  const second = processor.process(SECOND);
  second.catch(() => undefined);
  return Promise.allSettled([first, second]);
}

describe('rating: batches whose publishing overlaps (real PostgreSQL)', () => {
  const worlds: { ds: DataSource; schema: string }[] = [];
  let reference: unknown;

  before(async () => {
    const world = await ledgerWorld();
    worlds.push(world);
    const processor = processorOn(world.ds, new GatedUsageSink(false), { groupId: GROUP });
    await processor.process(FIRST);
    await processor.process(SECOND);
    reference = await snapshot(world.ds);
    const positions = (reference as { positions: unknown[] }).positions;
    assert.equal(positions.length, 1, 'both batches move the same month position');
    const { outbox } = reference as { outbox: unknown[] };
    assert.ok(outbox.length > 0, 'complete usage windows are in the outbox');
  });

  after(async () => {
    for (const { ds, schema } of worlds) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  test('the second batch is priced from the first one in flight; both commit; ledger as if one after the other', async () => {
    const world = await ledgerWorld();
    worlds.push(world);
    const sink = new GatedUsageSink();
    const firstPriced = deferred();
    const processor = processorOn(world.ds, sink, {
      groupId: GROUP,
      phases: {
        start: (phase) => {
          if (phase === 'write') firstPriced.resolve();
          return () => undefined;
        },
      },
    });
    const [first, second] = await overlapped(processor, firstPriced);
    assert.equal(first.status, 'fulfilled', String((first as PromiseRejectedResult).reason));
    assert.equal(second.status, 'fulfilled', String((second as PromiseRejectedResult).reason));
    assert.deepEqual(await snapshot(world.ds), reference);
  });

  test('the first batch rolls back: the second, priced from it, rolls back too; rated again, the ledger is exact', async () => {
    const world = await ledgerWorld();
    worlds.push(world);
    const sink = new GatedUsageSink();
    sink.failFirst = true;
    const firstPriced = deferred();
    const processor = processorOn(world.ds, sink, {
      groupId: GROUP,
      phases: {
        start: (phase) => {
          if (phase === 'write') firstPriced.resolve();
          return () => undefined;
        },
      },
    });
    const [first, second] = await overlapped(processor, firstPriced);
    assert.equal(first.status, 'rejected');
    assert.match(String(first.reason), /did not take it/);
    assert.equal(second.status, 'rejected');
    assert.ok(
      second.reason instanceof PositionConflictError,
      `second batch: ${String(second.reason)}`,
    );
    // Nothing of either is in the ledger: only the earlier batch's partition has an offset.
    const between = (await snapshot(world.ds)) as { offsets: { partition: number }[] };
    assert.deepEqual(
      between.offsets.map((o) => o.partition),
      [EARLIER.partition],
    );

    // Kafka delivers both again (as kafkajs does after a failed batch), now without a failure.
    sink.gate = false;
    await processor.process(FIRST);
    await processor.process(SECOND);
    assert.deepEqual(await snapshot(world.ds), reference);
    // The second's events staged before the conflict rolled back with it; staged again, they
    // carry the committed amounts (the outbox in the snapshot is the reference's).
    const lastOfSecond = sink.published.at(-1)!;
    assert.ok(lastOfSecond.every((u) => !FIRST_RESOURCES.has(u.resourceId)));
  });
});
