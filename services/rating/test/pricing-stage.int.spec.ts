import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { type ConsumedBatch } from '@metering/kafka';
import { uniqueName } from '@metering/testing';
import { type PricedUsage } from '../src/domain';
import { type LedgerTx } from '../src/ledger/ledger-db';
import { TenantAffinity } from '../src/pricing/tenant-affinity';
import { type StagedUsage, type UsageEventSink } from '../src/publishing/usage-event.outbox';
import {
  batchOf,
  deferred,
  processorOn,
  stageIntoOutbox,
  stageOf,
  tieredLedger,
  within,
} from './processor-harness';

// The pricing stage (docs/adr/0014-rating-scale-out.md) against real PostgreSQL, with two rating
// processes (two processors, two connection pools, two stages) on one ledger and one tenant's
// resources on several partitions. What the specs of the in-batch pricing turn asserted
// (position-locks, overlapping-batches: no deadlock, no double charge, exact totals, nothing
// priced from a rolled-back position) holds for the stage; and the hot paths of the two processes
// never wait on a lock (pg_stat_activity.wait_event_type = 'Lock' stays empty for them).

const TENANTS = ['t-a', 't-b', 't-c'];
const GROUP = 'stage';
const SIZE = { resources: 6, samplesPerResource: 30 };
/** Process A's partitions and process B's: every batch has resources of all three tenants. */
const A_BATCHES = [0, 1, 2].map((p) => batchOf(p, 11 + p, TENANTS, SIZE));
const B_BATCHES = [3, 4, 5].map((p) => batchOf(p, 31 + p, TENANTS, SIZE));

/** Stages into the real outbox (fixed ratedAt); fails the next `failures` stagings (retriable). */
class OutboxSink implements UsageEventSink {
  failures = 0;
  readonly staged: PricedUsage[] = [];

  ready(): Promise<void> {
    return Promise.resolve();
  }

  async stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('the outbox did not take it (stand-in)'), { retriable: true });
    }
    const staged = await stageIntoOutbox(tx, closed);
    this.staged.push(...closed);
    return staged;
  }

  committed(): void {}
}

/** Stages into the real outbox, but its first staging waits (the pass holds its transaction). */
class HoldingSink extends OutboxSink {
  readonly entered = deferred();
  readonly release = deferred();
  private held = false;

  override async stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    if (!this.held) {
      this.held = true;
      this.entered.resolve();
      await this.release.promise;
    }
    return super.stage(tx, closed);
  }
}

/** A partition's batch as two batches, one after the other in its log: the same samples. */
function halves(batch: ConsumedBatch): [ConsumedBatch, ConsumedBatch] {
  const cut = Math.floor(batch.messages.length / 2);
  const part = (messages: ConsumedBatch['messages']): ConsumedBatch => ({
    ...batch,
    messages,
    firstOffset: messages[0]!.offset,
    lastOffset: messages.at(-1)!.offset,
    nextOffset: String(Number(messages.at(-1)!.offset) + 1),
  });
  return [part(batch.messages.slice(0, cut)), part(batch.messages.slice(cut))];
}

/**
 * What does not depend on the order pieces were priced in: quantities, month totals (a month's
 * charge is its tiers' price of its total), offsets, each month's charge as the sum of its
 * buckets' charges and as the sum of its usage events plus its open windows, nothing unpriced.
 */
async function orderFree(ds: DataSource): Promise<unknown> {
  return {
    buckets: await ds.query<unknown[]>(
      `SELECT resource_id, bucket_start, cpu_usage_core_seconds::text, memory_usage_byte_seconds::text
       FROM usage_bucket ORDER BY 1, 2`,
    ),
    positions: await ds.query<unknown[]>(
      `SELECT p.tenant_id, p.period, p.cpu_core_seconds::text, p.memory_gib_seconds::text,
              (p.cpu_amount + p.memory_amount)::text AS amount,
              (SELECT sum(coalesce(c.amount, 0)) FROM usage_bucket b
               LEFT JOIN usage_bucket_charge c USING (tenant_id, resource_id, bucket_start)
               WHERE b.tenant_id = p.tenant_id)::text AS bucket_amounts,
              (coalesce((SELECT sum((e.v::jsonb -> 'amounts' ->> 'total')::numeric)
                         FROM usage_outbox o, unnest(coalesce(
                           string_to_array(o.payloads, E'\\n'), ARRAY[o.payload])) AS e(v)
                         WHERE o.tenant_id = p.tenant_id AND e.v::jsonb ->> 'period' = p.period),
                        0)
               * 1e20
               + coalesce((SELECT sum((w."window" ->> 'cpuAmount')::numeric
                                      + (w."window" ->> 'memoryAmount')::numeric)
                           FROM rating_open_window w
                           WHERE w.tenant_id = p.tenant_id AND w.period = p.period), 0)
               = (p.cpu_amount + p.memory_amount) * 1e20) AS events_and_windows_add_up
       FROM tenant_month_position p ORDER BY 1, 2`,
    ),
    offsets: await ds.query<unknown[]>(
      `SELECT partition, next_offset::text FROM consumer_offset WHERE group_id = $1 ORDER BY 1`,
      [GROUP],
    ),
    unpriced: await ds.query<unknown[]>(`SELECT count(*)::int AS n FROM rating_unpriced_usage`),
  };
}

/** Decimal strings without trailing zeros (1.50 and 1.5 are the same figure), everywhere in `v`. */
function sameScale(v: unknown): unknown {
  if (typeof v === 'string') return /^-?\d+\.\d*$/.test(v) ? v.replace(/\.?0+$/, '') : v;
  if (Array.isArray(v)) return v.map(sameScale);
  if (v !== null && typeof v === 'object' && !(v instanceof Date))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sameScale(x)]));
  return v;
}

/** Samples pg_stat_activity until `done` settles: the backends of these applications that waited on a lock. */
async function lockWaits(
  ds: DataSource,
  apps: string[],
  done: Promise<unknown>,
): Promise<string[]> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  const seen: string[] = [];
  let samples = 0;
  while (!finished) {
    const rows = await ds.query<{ app: string; event: string; query: string }[]>(
      `SELECT application_name AS app, wait_event AS event, query FROM pg_stat_activity
       WHERE application_name = ANY($1) AND wait_event_type = 'Lock'`,
      [apps],
    );
    samples += 1;
    for (const r of rows) seen.push(`${r.app} ${r.event}: ${r.query.slice(0, 80)}`);
  }
  assert.ok(samples > 0);
  return seen;
}

describe('rating: the pricing stage, two processes on one tenant (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string; drop: boolean }[] = [];
  let reference: unknown;

  after(async () => {
    for (const { ds, schema, drop } of opened.reverse()) {
      if (drop) await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  /** Two processes on a new ledger schema, with their pools named for pg_stat_activity. */
  async function twoProcesses(prefix: string, sinks: [OutboxSink, OutboxSink]) {
    const schema = uniqueName(prefix);
    const appA = `${schema}-a`;
    const appB = `${schema}-b`;
    const dsA = await tieredLedger({
      schema,
      tenants: TENANTS,
      create: true,
      applicationName: appA,
    });
    opened.push({ ds: dsA, schema, drop: true });
    const dsB = await tieredLedger({
      schema,
      tenants: TENANTS,
      create: false,
      applicationName: appB,
    });
    opened.push({ ds: dsB, schema, drop: false });
    const a = processorOn(dsA, sinks[0], { groupId: GROUP, drain: false, pricingPage: 7 });
    const b = processorOn(dsB, sinks[1], { groupId: GROUP, drain: false, pricingPage: 7 });
    return { dsA, dsB, appA, appB, a, b };
  }

  /**
   * Two processes on a new ledger schema, each with the pass affinity of its partitions (A those
   * of A_BATCHES, B those of B_BATCHES, as the consumers are assigned); `pricedBy` hears which
   * process priced which tenant's month. `passes: false`: committed batches queue no pass (only
   * the sweeps price); `orphanMsB`: B's stage's orphanMs.
   */
  async function affinityPair(prefix: string, o: { passes?: boolean; orphanMsB?: number } = {}) {
    const schema = uniqueName(prefix);
    const dsA = await tieredLedger({ schema, tenants: TENANTS, create: true });
    opened.push({ ds: dsA, schema, drop: true });
    const dsB = await tieredLedger({ schema, tenants: TENANTS, create: false });
    opened.push({ ds: dsB, schema, drop: false });
    const affinityA = new TenantAffinity(6);
    affinityA.assigned(A_BATCHES.map((x) => x.partition));
    const affinityB = new TenantAffinity(6);
    affinityB.assigned(B_BATCHES.map((x) => x.partition));
    const ownedA = TENANTS.filter((t) => affinityA.owns(t));
    const ownedB = TENANTS.filter((t) => affinityB.owns(t));
    assert.ok(
      ownedA.length > 0 && ownedB.length > 0,
      `both own some: ${ownedA.join()} | ${ownedB.join()}`,
    );
    const pricedBy = { a: new Set<string>(), b: new Set<string>() };
    const common = {
      groupId: GROUP,
      drain: false,
      pricingPage: 7,
      ...(o.passes === undefined ? {} : { passes: o.passes }),
    };
    const a = processorOn(dsA, new OutboxSink(), {
      ...common,
      affinity: affinityA,
      priced: (t) => pricedBy.a.add(t),
    });
    const b = processorOn(dsB, new OutboxSink(), {
      ...common,
      affinity: affinityB,
      priced: (t) => pricedBy.b.add(t),
      ...(o.orphanMsB === undefined ? {} : { orphanMs: o.orphanMsB }),
    });
    return { dsA, a, b, ownedA, ownedB, pricedBy };
  }

  test('reference: the batches one after the other, each priced at once', async () => {
    const schema = uniqueName('stage_ref');
    const ds = await tieredLedger({ schema, tenants: TENANTS, create: true });
    opened.push({ ds, schema, drop: true });
    const serial = processorOn(ds, new OutboxSink(), { groupId: GROUP });
    for (const batch of [...A_BATCHES, ...B_BATCHES]) await serial.process(batch);
    reference = await orderFree(ds);
    const positions = (
      reference as { positions: { amount: string; events_and_windows_add_up: boolean }[] }
    ).positions;
    assert.equal(positions.length, TENANTS.length);
    for (const p of positions) assert.equal(p.events_and_windows_add_up, true);
    assert.ok(
      positions.every((p) => Number(p.amount) > 0),
      'every month was charged',
    );
  });

  test('two processes rating one tenant on different partitions never wait on a lock; two stages price it exactly once', async (t) => {
    const { dsA, appA, appB, a, b } = await twoProcesses('stage_nowait', [
      new OutboxSink(),
      new OutboxSink(),
    ]);
    // The hot paths side by side, every batch touching every tenant's month.
    const rating = Promise.all([
      (async () => {
        for (const batch of A_BATCHES) await a.process(batch);
      })(),
      (async () => {
        for (const batch of B_BATCHES) await b.process(batch);
      })(),
    ]);
    const waits = await lockWaits(dsA, [appA, appB], rating);
    await within(rating, 'both processes rated');
    // Relation extension ('extend': two inserters adding a page to one table at once) is a
    // physical lock held for a page's allocation, not a row, tuple or transaction another
    // instance holds; every other kind of lock wait fails the spec.
    if (waits.length > 0) t.diagnostic(`lock waits sampled: ${waits.join('; ')}`);
    assert.deepEqual(
      waits.filter((w) => !/^\S+ extend:/.test(w)),
      [],
      'no backend of either process waited on a lock',
    );
    const pieces = await dsA.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM rating_unpriced_usage`,
    );
    assert.ok(pieces[0]!.n > 0, 'the batches left their pieces to the stage');
    const charged = await dsA.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM usage_bucket_charge WHERE amount <> 0`,
    );
    assert.equal(charged[0]!.n, 0, 'no batch priced anything');

    // Both stages at once, small pages: each month is priced by whoever holds its lease.
    await within(Promise.all([stageOf(a).drain(), stageOf(b).drain()]), 'both stages drained');
    assert.deepEqual(await orderFree(dsA), reference);
  });

  test('with pass affinity each tenant month is priced at once by its owner only; a drain prices the rest, exactly once', async () => {
    const { dsA, a, b, ownedA, ownedB, pricedBy } = await affinityPair('stage_affinity');
    assert.deepEqual([...ownedA, ...ownedB].sort(), TENANTS, 'every tenant has one owner');
    // Every batch of either process touches every tenant's month.
    await Promise.all([
      (async () => {
        for (const batch of A_BATCHES) await a.process(batch);
      })(),
      (async () => {
        for (const batch of B_BATCHES) await b.process(batch);
      })(),
    ]);
    const everyMonth = async (): Promise<void> => {
      while (!TENANTS.every((t) => pricedBy.a.has(t) || pricedBy.b.has(t)))
        await new Promise((r) => setTimeout(r, 20));
    };
    await within(everyMonth(), 'the passes after the commits priced every month');
    // Longer than the passes' gathering (200 ms): a pass for a month not owned would have run.
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual([...pricedBy.a].sort(), ownedA, 'A priced only the months it owns');
    assert.deepEqual([...pricedBy.b].sort(), ownedB, 'B priced only the months it owns');
    // What an owner's pass found later, the sweep (here: a drain) prices; the totals are exact.
    await within(Promise.all([stageOf(a).drain(), stageOf(b).drain()]), 'both stages drained');
    assert.deepEqual(sameScale(await orderFree(dsA)), sameScale(reference));
  });

  test("with pass affinity each sweep prices the months its instance owns, and another's only once they are overdue by orphanMs; exactly once", async () => {
    // No passes after the commits: only the sweeps price. A's never runs (A is gone or behind).
    const { dsA, a, b, ownedA, ownedB, pricedBy } = await affinityPair('stage_sweep', {
      passes: false,
      orphanMsB: 2_000,
    });
    for (const batch of A_BATCHES) await a.process(batch);
    for (const batch of B_BATCHES) await b.process(batch);
    const unpricedOf = async (tenants: string[]): Promise<number> =>
      (
        await dsA.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM rating_unpriced_usage WHERE tenant_id = ANY($1)`,
          [tenants],
        )
      )[0]!.n;
    assert.ok((await unpricedOf(TENANTS)) > 0, 'pieces wait for the sweeps');
    // Pieces older than the interval (1 s), not yet 2 s overdue.
    await new Promise((r) => setTimeout(r, 1_100));
    await stageOf(b).sweep();
    assert.deepEqual([...pricedBy.b].sort(), ownedB, "B's sweep priced the months B owns");
    assert.equal(await unpricedOf(ownedB), 0);
    assert.ok((await unpricedOf(ownedA)) > 0, "A's months wait for their owner");
    // A's months 2 s overdue: B's sweep steps in.
    await new Promise((r) => setTimeout(r, 2_100));
    await stageOf(b).sweep();
    assert.deepEqual([...pricedBy.b].sort(), [...TENANTS].sort(), 'overdue months priced by B');
    assert.equal(await unpricedOf(TENANTS), 0);
    assert.equal(pricedBy.a.size, 0);
    assert.deepEqual(sameScale(await orderFree(dsA)), sameScale(reference));
  });

  test('a batch adds quantities to buckets another process is charging without waiting for its pass; the stage skips the month without waiting either', async () => {
    const holding = new HoldingSink();
    const { dsA, a, b } = await twoProcesses('stage_shared', [new OutboxSink(), holding]);
    const split = A_BATCHES.map(halves);
    for (const [first] of split) await a.process(first);
    // Process B's stage prices t-a's month — process A's buckets — and holds its transaction
    // open with the charges added and the position moved, uncommitted.
    const pass = stageOf(b).priceMonth({ tenantId: 't-a', period: '2026-10' });
    await within(holding.entered.promise, 'the pass reached its outbox');
    try {
      // The rest of process A's partitions: the same resources, the same hour buckets.
      await within(
        (async () => {
          for (const [, second] of split) await a.process(second);
        })(),
        'process A rated while the other process was charging its buckets',
        10_000,
      );
      assert.equal(
        await within(
          stageOf(a).priceMonth({ tenantId: 't-a', period: '2026-10' }),
          'the held month skipped',
          5_000,
        ),
        'held',
      );
    } finally {
      holding.release.resolve();
    }
    assert.equal(await within(pass, 'the held pass committed'), 'done');
    for (const batch of B_BATCHES) await b.process(batch);
    await within(Promise.all([stageOf(a).drain(), stageOf(b).drain()]), 'both stages drained');
    // The same figures; a partition rated in two batches adds decimals of other scales (1.50).
    assert.deepEqual(sameScale(await orderFree(dsA)), sameScale(reference));
  });

  test('a month whose lease is held is skipped at once, not waited for; its holder or the next pass prices it', async () => {
    const sink = new OutboxSink();
    const { dsA, dsB, a } = await twoProcesses('stage_lease', [sink, new OutboxSink()]);
    for (const batch of A_BATCHES) await a.process(batch);
    // Another instance holds t-a's month (as a pass does: its row created and committed first).
    await dsB.query(
      `INSERT INTO tenant_month_position (tenant_id, period) VALUES ('t-a', '2026-10')
       ON CONFLICT DO NOTHING`,
    );
    const holder = dsB.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(
      `SELECT 1 FROM tenant_month_position WHERE tenant_id = 't-a' AND period = '2026-10' FOR UPDATE`,
    );
    try {
      const stage = stageOf(a);
      const pass = stage.priceMonth({ tenantId: 't-a', period: '2026-10' });
      assert.equal(await within(pass, 'the pass skipped the held month', 5_000), 'held');
      assert.equal(
        await stage.priceMonth({ tenantId: 't-b', period: '2026-10' }),
        'done',
        'other months are priced meanwhile',
      );
      const left = await dsA.query<{ tenant_id: string }[]>(
        `SELECT DISTINCT tenant_id FROM rating_unpriced_usage ORDER BY 1`,
      );
      assert.deepEqual(
        left.map((r) => r.tenant_id),
        ['t-a', 't-c'],
      );
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    await stageOf(a).drain();
    const left = await dsA.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM rating_unpriced_usage`,
    );
    assert.equal(left[0]!.n, 0);
  });

  test('a pass that rolls back leaves its pieces; the next prices them from the committed position, never twice', async () => {
    const sinkA = new OutboxSink();
    const { dsA, a, b } = await twoProcesses('stage_rollback', [sinkA, new OutboxSink()]);
    for (const batch of A_BATCHES) await a.process(batch);
    for (const batch of B_BATCHES) await b.process(batch);
    // Two passes fail after pricing (the outbox refuses their events): everything rolls back.
    sinkA.failures = 2;
    await assert.rejects(stageOf(a).priceMonth({ tenantId: 't-a', period: '2026-10' }));
    await assert.rejects(stageOf(a).priceMonth({ tenantId: 't-b', period: '2026-10' }));
    const moved = await dsA.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM tenant_month_position WHERE cpu_amount <> 0`,
    );
    assert.equal(moved[0]!.n, 0, 'no position moved by a pass that rolled back');
    await within(Promise.all([stageOf(a).drain(), stageOf(b).drain()]), 'both stages drained');
    assert.deepEqual(await orderFree(dsA), reference);
  });
});
