import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { uniqueName } from '@metering/testing';
import { type PlanAssignment } from '../src/domain';
import { CatalogReader } from '../src/ledger/catalog.reader';
import { LedgerDb } from '../src/ledger/ledger-db';
import { RepriceStore } from '../src/ledger/reprice.store';
import { type UsageEventSink } from '../src/publishing/usage-event.outbox';
import { batchOf, insertCheapPlan, processorOn, tieredLedger } from './processor-harness';
import { ledgerPool } from './ledger-pool';

// What rating does with a plan assignment changed back in time, when the repricing it causes
// fails, and when two rating processes notice the same change. Real PostgreSQL.

const TENANT = 't-a';
const GROUP = 'reprice-changes';
const SIZE = { resources: 3, samplesPerResource: 30 };
const FIRST = batchOf(0, 41, [TENANT], SIZE);
const SECOND = batchOf(1, 42, [TENANT], SIZE);
/** Effective from the start of the month the batches are in: October is priced by it. */
const CHEAP: PlanAssignment = {
  tenantId: TENANT,
  effectiveFromMs: Date.UTC(2026, 9, 1),
  planId: 'cheap',
  planVersion: 1,
};

const NO_EVENTS: UsageEventSink = {
  ready: () => Promise.resolve(),
  stage: () => Promise.resolve({ rows: [] }),
  committed: () => undefined,
};

/** The repository, except that reading a tenant's bucket span fails while `failing`. */
class SpanFailing extends RepriceStore {
  failing = false;

  override tenantBucketSpan(tenantId: string, fromMs: number) {
    if (this.failing) return Promise.reject(new Error('the ledger is away (stand-in)'));
    return super.tenantBucketSpan(tenantId, fromMs);
  }
}

/** Assigns plan 'cheap' (insertCheapPlan) to the tenant. */
async function assignCheapPlan(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
       VALUES ($1, to_timestamp($2::numeric / 1000), $3, $4)`,
    [CHEAP.tenantId, String(CHEAP.effectiveFromMs), CHEAP.planId, CHEAP.planVersion],
  );
}

/** The month's position and its buckets' amounts: what the invoice and Grafana agree on. */
async function month(ds: DataSource): Promise<unknown> {
  return ds.query<unknown[]>(
    `SELECT p.period, p.cpu_core_seconds::text, p.memory_gib_seconds::text,
            p.cpu_amount::text, p.memory_amount::text,
            (SELECT sum(coalesce(c.amount, 0)) FROM usage_bucket b
             LEFT JOIN usage_bucket_charge c USING (tenant_id, resource_id, bucket_start)
             WHERE b.tenant_id = p.tenant_id)::text AS bucket_amounts
     FROM tenant_month_position p WHERE p.tenant_id = $1 ORDER BY 1`,
    [TENANT],
  );
}

describe('rating: back-dated plan changes (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string }[] = [];
  async function world(): Promise<DataSource> {
    const schema = uniqueName('reprice_changes');
    const ds = await tieredLedger({ schema, tenants: [TENANT], create: true });
    opened.push({ ds, schema });
    await insertCheapPlan(ds);
    return ds;
  }

  after(async () => {
    for (const { ds, schema } of opened) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  test('a reprice that fails is done at the batch’s redelivery, not left until a restart', async () => {
    // Reference: the cheap plan assigned before anything was rated.
    const ref = await world();
    await assignCheapPlan(ref);
    const serial = processorOn(ref, NO_EVENTS, { groupId: GROUP });
    await serial.process(FIRST);
    await serial.process(SECOND);
    const expected = await month(ref);

    const ds = await world();
    const ledger = new SpanFailing(new LedgerDb(ledgerPool(ds)));
    const processor = processorOn(ds, NO_EVENTS, {
      groupId: GROUP,
      ledger: { reprices: ledger },
      catalogTtlMs: 0,
    });
    await processor.process(FIRST);
    assert.notDeepEqual(await month(ds), expected, 'priced by the tiered plan so far');

    await assignCheapPlan(ds);
    ledger.failing = true;
    await assert.rejects(processor.process(SECOND), /ledger is away/);
    ledger.failing = false;
    // Kafka delivers the batch again.
    const outcome = await processor.process(SECOND);
    assert.equal(outcome.repricedMonths, 1, 'October priced again at the redelivery');
    assert.deepEqual(await month(ds), expected);
    assert.deepEqual(
      (await new CatalogReader(new LedgerDb(ledgerPool(ds))).loadPricedAssignments()).sort(
        (a, b) => a.effectiveFromMs - b.effectiveFromMs,
      ),
      [
        {
          tenantId: TENANT,
          effectiveFromMs: Date.UTC(2026, 0, 1),
          planId: 'tiered',
          planVersion: 1,
        },
        CHEAP,
      ],
    );
  });

  test('a change back-dated months before the first usage reprices the months with usage only', async () => {
    // Effective from February: the months from then until October have no bucket.
    const february: PlanAssignment = { ...CHEAP, effectiveFromMs: Date.UTC(2026, 1, 1) };
    const assign = (ds: DataSource) =>
      ds.query(
        `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
         VALUES ($1, to_timestamp($2::numeric / 1000), $3, $4)`,
        [TENANT, String(february.effectiveFromMs), february.planId, february.planVersion],
      );
    const ref = await world();
    await assign(ref);
    const serial = processorOn(ref, NO_EVENTS, { groupId: GROUP });
    await serial.process(FIRST);
    await serial.process(SECOND);
    const expected = await month(ref);

    const ds = await world();
    const processor = processorOn(ds, NO_EVENTS, { groupId: GROUP, catalogTtlMs: 0 });
    await processor.process(FIRST);
    await assign(ds);
    const outcome = await processor.process(SECOND);
    assert.equal(outcome.repricedMonths, 1, 'October only: February to September have no usage');
    // The same charges and positions as if the plan had been assigned before anything was rated,
    // and no position row for the months without usage.
    assert.deepEqual(await month(ds), expected);
  });

  test('two rating processes recording the same repriced assignments take turns', async () => {
    const ds = await world();
    const other = await tieredLedger({
      schema: opened.at(-1)!.schema,
      tenants: [TENANT],
      create: false,
    });
    try {
      const assignments = [CHEAP];
      for (let round = 0; round < 20; round++) {
        const results = await Promise.allSettled([
          new RepriceStore(new LedgerDb(ledgerPool(ds))).storePricedAssignments(
            TENANT,
            assignments,
          ),
          new RepriceStore(new LedgerDb(ledgerPool(other))).storePricedAssignments(
            TENANT,
            assignments,
          ),
        ]);
        const failed = results.flatMap((r): unknown[] =>
          r.status === 'rejected' ? [r.reason] : [],
        );
        assert.deepEqual(failed.map(String), [], `round ${round}`);
      }
      assert.deepEqual(
        await new CatalogReader(new LedgerDb(ledgerPool(ds))).loadPricedAssignments(),
        assignments,
      );
    } finally {
      await other.destroy();
    }
  });
});
