import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { uniqueName } from '@metering/testing';
import { type BucketUsage } from '../src/domain';
import { LedgerDb, type LedgerTx } from '../src/ledger/ledger-db';
import { type BucketCursor } from '../src/ledger/ledger-rows';
import { RepriceStore } from '../src/ledger/reprice.store';
import { type UsageEventSink } from '../src/publishing/usage-event.outbox';
import {
  batchOf,
  processorOn,
  stageOf,
  tieredLedger,
  waitingForLock,
  within,
  insertCheapPlan,
} from './processor-harness';
import { ledgerPool } from './ledger-pool';

// A batch that commits while a reprice runs (batches never take the month's lease): its charges
// count once, whether the reprice's snapshot holds it or not (docs/adr/0014-rating-scale-out.md,
// "The reprice's snapshot"). Real PostgreSQL, two connection pools on one schema.

const TENANT = 't-a';
const GROUP = 'reprice-snapshot';
const SIZE = { resources: 3, samplesPerResource: 30 };
const FIRST = batchOf(0, 41, [TENANT], SIZE);
const SECOND = batchOf(1, 42, [TENANT], SIZE);
/** The batch another process commits during the reprice. */
const DURING = batchOf(2, 43, [TENANT], SIZE);

const NO_EVENTS: UsageEventSink = {
  ready: () => Promise.resolve(),
  stage: () => Promise.resolve({ rows: [] }),
  committed: () => undefined,
};

/**
 * The repository, except that before the reprice reads its first page of quantities (its month
 * drained, its lease held) it runs `between` once, to completion.
 */
class HeldBeforeReads extends RepriceStore {
  between: (() => Promise<void>) | null = null;

  override async loadTenantBucketsPage(
    tx: LedgerTx,
    tenantId: string,
    range: { fromMs: number; toMs: number },
    cursor: BucketCursor | null,
    limit: number,
  ): Promise<BucketUsage[]> {
    const between = this.between;
    this.between = null;
    if (between !== null) await between();
    return super.loadTenantBucketsPage(tx, tenantId, range, cursor, limit);
  }
}

/** Assigns plan 'cheap' (insertCheapPlan) to the tenant. */
async function assignCheapPlan(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
       VALUES ($1, '2026-10-01', 'cheap', 1)`,
    [TENANT],
  );
}

/** The month's position, its quantities and the sum of its buckets' charges, to the unit. */
async function month(ds: DataSource): Promise<unknown> {
  return ds.query<unknown[]>(
    `SELECT p.period, p.cpu_core_seconds::text, p.memory_gib_seconds::text,
            p.cpu_amount::text, p.memory_amount::text,
            (SELECT sum(coalesce(c.amount, 0)) FROM usage_bucket b
             LEFT JOIN usage_bucket_charge c USING (tenant_id, resource_id, bucket_start)
             WHERE b.tenant_id = p.tenant_id)::text AS bucket_amounts,
            (SELECT count(*) FROM rating_unpriced_usage u
             WHERE u.tenant_id = p.tenant_id)::int AS unpriced
     FROM tenant_month_position p WHERE p.tenant_id = $1 ORDER BY 1`,
    [TENANT],
  );
}

describe('rating: a batch committed during a reprice is charged once (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string }[] = [];
  const others: DataSource[] = [];
  async function world(): Promise<{ ds: DataSource; schema: string }> {
    const schema = uniqueName('reprice_snapshot');
    const ds = await tieredLedger({ schema, tenants: [TENANT], create: true });
    opened.push({ ds, schema });
    await insertCheapPlan(ds);
    return { ds, schema };
  }

  after(async () => {
    for (const ds of others) await ds.destroy();
    for (const { ds, schema } of opened) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  test('a batch committed between the reprice’s drain and its reads prices on top of the repriced month, never twice', async () => {
    // Reference: the cheap plan assigned before anything was rated; the batches in the order
    // they commit below, each priced at once.
    const { ds: ref } = await world();
    await assignCheapPlan(ref);
    const serial = processorOn(ref, NO_EVENTS, { groupId: GROUP });
    for (const batch of [FIRST, DURING, SECOND]) await serial.process(batch);
    const expected = await month(ref);

    const { ds, schema } = await world();
    const reprices = new HeldBeforeReads(new LedgerDb(ledgerPool(ds)));
    const repricing = processorOn(ds, NO_EVENTS, {
      groupId: GROUP,
      ledger: { reprices },
      catalogTtlMs: 0,
    });
    await repricing.process(FIRST);
    // Another rating process (its own pool), its catalog loaded before the plan change: it rates
    // and does not reprice. Redelivered FIRST: nothing applied, the catalog loaded.
    const otherDs = await tieredLedger({ schema, tenants: [TENANT], create: false });
    others.push(otherDs);
    const other = processorOn(otherDs, NO_EVENTS, { groupId: GROUP, drain: false });
    assert.equal((await other.process(FIRST)).applied, 0, 'FIRST is already rated');

    await assignCheapPlan(ds);
    let during = 0;
    reprices.between = async () => {
      // Batches never wait for the lease the reprice holds: this commits now.
      during = (await within(other.process(DURING), 'a batch during the reprice')).rated;
    };
    const outcome = await repricing.process(SECOND);
    assert.equal(outcome.repricedMonths, 1, 'October priced again');
    assert.ok(during > 0, 'the batch committed during the reprice');
    await stageOf(other).drain();
    assert.deepEqual(await month(ds), expected);
  });

  test('a reprice that waited for a pass which moved the position is run again from a new snapshot, not failed', async () => {
    const { ds: ref } = await world();
    await assignCheapPlan(ref);
    const serial = processorOn(ref, NO_EVENTS, { groupId: GROUP });
    for (const batch of [FIRST, SECOND]) await serial.process(batch);
    const expected = await month(ref);

    const { ds: plain, schema } = await world();
    await plain.destroy();
    opened.pop();
    const app = uniqueName('repricing');
    const ds = await tieredLedger({
      schema,
      tenants: [TENANT],
      create: false,
      applicationName: app,
    });
    opened.push({ ds, schema });
    const repricing = processorOn(ds, NO_EVENTS, { groupId: GROUP, catalogTtlMs: 0 });
    await repricing.process(FIRST);
    await assignCheapPlan(ds);

    // Another instance's pass holds the month's lease and stores its position (the same values:
    // a row version the reprice's snapshot, taken while it waits, does not see).
    const holderDs = await tieredLedger({ schema, tenants: [TENANT], create: false });
    others.push(holderDs);
    const holder = holderDs.createQueryRunner();
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM tenant_month_position WHERE tenant_id = $1 AND period = '2026-10' FOR UPDATE`,
        [TENANT],
      );
      await holder.query(
        `UPDATE tenant_month_position SET updated_at = now() WHERE tenant_id = $1`,
        [TENANT],
      );
      const outcome = repricing.process(SECOND);
      await waitingForLock(ds, app);
      await holder.query('COMMIT');
      assert.equal((await within(outcome, 'the reprice')).repricedMonths, 1);
    } finally {
      if (holder.isTransactionActive) await holder.query('ROLLBACK');
      await holder.release();
    }
    assert.deepEqual(await month(ds), expected);
  });
});
