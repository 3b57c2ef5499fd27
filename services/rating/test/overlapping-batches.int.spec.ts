import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource, type EntityManager } from 'typeorm';
import { encode } from '@metering/contracts';
import { type ConsumedBatch } from '@metering/kafka';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { localInfra, uniqueName } from '@metering/testing';
import { type PricedUsage } from '../src/domain';
import { type BatchPhases, SampleBatchProcessor } from '../src/consuming/sample-batch.processor';
import { LedgerRepository, PositionConflictError } from '../src/ledger/ledger.repository';
import { TenantCatalog } from '../src/pricing/tenant-catalog';
import { encodeUsageEvent } from '../src/publishing/usage-event.encoder';
import { type StagedUsage, type UsageEventSink } from '../src/publishing/usage-event.outbox';
import { generateSamples } from './sample-stream';

// Two batches of one tenant's month, from two partitions, in one process: the second is priced
// from the month position the first moved but has not committed yet (it is still publishing), so
// their publishing overlaps. When the first commits, the second stores what it priced; when the
// first rolls back, the second must notice (PositionConflictError) and roll back too. Either way,
// once both are in, the ledger equals rating the two batches one after the other.
// Real PostgreSQL; the usage event sink stages into the real outbox but holds or fails the first
// batch's staging (what the batches overlap on).

const TENANT = 'acme';
const GROUP = 'overlap';
const TOPIC = 'samples';
const START = Date.UTC(2026, 9, 1, 6, 0, 0);

function batchOf(partition: number, seed: number): ConsumedBatch {
  const samples = generateSamples({
    seed,
    tenants: [TENANT],
    resources: 3,
    samplesPerResource: 40,
    startMs: START,
  });
  const messages = samples.map((s, i) => ({
    topic: TOPIC,
    partition,
    offset: String(i),
    key: Buffer.from(s.resource.id),
    value: encode(s),
    headers: {},
    timestamp: String(START),
  }));
  return {
    topic: TOPIC,
    partition,
    messages,
    firstOffset: '0',
    lastOffset: String(messages.length - 1),
    nextOffset: String(messages.length),
    highWatermark: String(messages.length),
  };
}

/** Committed before the others: the month position row exists, with values, when they run. */
const EARLIER = batchOf(2, 303);
const FIRST = batchOf(0, 101);
const SECOND = batchOf(1, 202);
const resourcesOf = (b: ConsumedBatch) =>
  new Set(
    b.messages.map(
      (m) => (JSON.parse(m.value!.toString()) as { resource: { id: string } }).resource.id,
    ),
  );
const FIRST_RESOURCES = resourcesOf(FIRST);

/** A ledger schema with the tenant on a tiered plan (every bound crossed within the month). */
async function ledgerWorld(): Promise<{ ds: DataSource; schema: string }> {
  const schema = uniqueName('overlap');
  const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema, poolSize: 4 });
  await ds.initialize();
  await migrateLedger(ds);
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
     VALUES ('tiered', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb)`,
    [
      JSON.stringify([
        { upTo: '0.2', unitPrice: '0.040' },
        { upTo: null, unitPrice: '0.031' },
      ]),
      JSON.stringify([
        { upTo: '0.3', unitPrice: '0.0050' },
        { upTo: null, unitPrice: '0.0037' },
      ]),
    ],
  );
  await ds.query(
    `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, 'UTC', 'EUR')`,
    [TENANT],
  );
  await ds.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
     VALUES ($1, '2026-01-01', 'tiered', 1)`,
    [TENANT],
  );
  await processorOn(ds, new GatedUsageSink(false)).process(EARLIER);
  return { ds, schema };
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects instead of waiting forever: a test that would hang fails with a reason. */
function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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

  async stage(tx: EntityManager, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    // Each batch closes windows (60 s windows over ~400 s of samples): they tell whose it is.
    const first = closed.some((u) => FIRST_RESOURCES.has(u.resourceId));
    if (this.gate && first) {
      await within(this.secondPublished.promise, 'the second batch staging beside the first');
      if (this.failFirst) throw new Error('the outbox did not take it (stand-in)');
    }
    if (!first) this.secondPublished.resolve();
    this.published.push([...closed]);
    await new LedgerRepository(tx.connection).addToOutbox(tx, {
      keys: closed.map((u) => u.tenantId),
      values: closed.map((u) => encodeUsageEvent(u, '"2026-11-01T00:00:00.000Z"')),
    });
    return { rows: [] };
  }

  committed(): void {}
}

function processorOn(ds: DataSource, sink: UsageEventSink, phases?: BatchPhases) {
  const ledger = new LedgerRepository(ds);
  const catalog = new TenantCatalog(ledger, {
    ttlMs: 60_000,
    defaultTimeZone: 'UTC',
    defaultCurrency: 'EUR',
  });
  return new SampleBatchProcessor(
    ledger,
    catalog,
    { publishAll: () => Promise.resolve() },
    sink,
    { committed: () => undefined },
    {
      groupId: GROUP,
      rules: { maxGapMs: 300_000 },
      maxFutureSkewMs: 300_000,
      windows: { windowMs: 60_000 },
      repricePageBuckets: 10_000,
    },
    Date.now,
    phases,
  );
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
    const processor = processorOn(world.ds, new GatedUsageSink(false));
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
      start: (phase) => {
        if (phase === 'write') firstPriced.resolve();
        return () => undefined;
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
      start: (phase) => {
        if (phase === 'write') firstPriced.resolve();
        return () => undefined;
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
