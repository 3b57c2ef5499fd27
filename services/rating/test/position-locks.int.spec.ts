import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { type LedgerTx } from '../src/ledger/ledger-db';
import { uniqueName } from '@metering/testing';
import { type PricedUsage } from '../src/domain';
import { PositionConflictError } from '../src/ledger/batch-ledger.store';
import { type StagedUsage, type UsageEventSink } from '../src/publishing/usage-event.outbox';
import {
  batchOf,
  deferred,
  processorOn,
  tieredLedger,
  within,
  stageIntoOutbox,
  waitingForLock,
} from './processor-harness';

// Two rating processes (two processors, two connection pools) on one ledger, their batches
// touching the same tenants' month positions while process A's batches overlap (A2 priced from
// A1 in flight). The interleaving that deadlocked before: A1 holds every month; A2 is priced
// from A1's months in memory; B1 (the other process) waits in line for those months; A1
// commits. B1 takes the months one by one in order; A2, confirming what it priced from, takes
// them too. If A2 had locked a month early (one that A1 did not hold), B1 would wait for A2 and
// A2 for B1: PostgreSQL aborts one after deadlock_timeout with 40P01. A batch that prices from
// months in flight therefore takes all its month locks at the end, in one ordered statement:
// no deadlock, at most a PositionConflictError (A2 is rated again), and the ledger is exact.
// Real PostgreSQL.

const TENANTS = ['t-a', 't-b', 't-c'];
const GROUP = 'positions';
const SIZE = { resources: 6, samplesPerResource: 30 };

/** A1 holds t-a and t-b; A2 and B1 need all three (A2's t-c is not in flight: read, not held). */
const A1 = batchOf(0, 11, ['t-a', 't-b'], SIZE);
const A2 = batchOf(1, 22, TENANTS, SIZE);
const B1 = batchOf(2, 33, TENANTS, SIZE);

/** Stages into the real outbox; the first staging of the process waits until released. */
class HeldFirstSink implements UsageEventSink {
  readonly release = deferred();
  private calls = 0;

  constructor(private readonly hold: boolean) {}

  ready(): Promise<void> {
    return Promise.resolve();
  }

  async stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    this.calls += 1;
    if (this.hold && this.calls === 1) await within(this.release.promise, 'A1 released');
    return stageIntoOutbox(tx, closed);
  }

  committed(): void {}
}

/**
 * What does not depend on the order the three batches committed in: quantities and month
 * totals (a month's amount is its tiers' price of its total), offsets, and each month's amount
 * as the sum of its buckets' amounts.
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
              (SELECT sum(b.amount) FROM usage_bucket b WHERE b.tenant_id = p.tenant_id)::text
                AS bucket_amounts
       FROM tenant_month_position p ORDER BY 1, 2`,
    ),
    offsets: await ds.query<unknown[]>(
      `SELECT partition, next_offset::text FROM consumer_offset WHERE group_id = $1 ORDER BY 1`,
      [GROUP],
    ),
  };
}

const isDeadlock = (e: unknown): boolean =>
  (e as { driverError?: { code?: string } } | null)?.driverError?.code === '40P01' ||
  /deadlock/i.test(String(e));

describe('rating: two processes on the same month positions (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string; drop: boolean }[] = [];

  after(async () => {
    for (const { ds, schema, drop } of opened.reverse()) {
      if (drop) await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  test('a batch priced from months in flight never deadlocks with the other process; the ledger is exact', async () => {
    // Reference: the three batches one after the other.
    const refSchema = uniqueName('positions_ref');
    const ref = await tieredLedger({ schema: refSchema, tenants: TENANTS, create: true });
    opened.push({ ds: ref, schema: refSchema, drop: true });
    const serial = processorOn(ref, new HeldFirstSink(false), { groupId: GROUP });
    for (const b of [A1, B1, A2]) await serial.process(b);
    const reference = await orderFree(ref);
    assert.equal((reference as { positions: unknown[] }).positions.length, TENANTS.length);

    const schema = uniqueName('positions');
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

    const sinkA = new HeldFirstSink(true);
    const writing = [deferred(), deferred()];
    let writes = 0;
    const processA = processorOn(dsA, sinkA, {
      groupId: GROUP,
      phases: {
        start: (phase) => {
          if (phase === 'write') writing[Math.min(writes++, 1)]!.resolve();
          return () => undefined;
        },
      },
    });
    const processB = processorOn(dsB, new HeldFirstSink(false), { groupId: GROUP });

    // A1 priced and holding t-a, t-b (its staging held); A2 priced from them in flight.
    const a1 = processA.process(A1);
    a1.catch(() => undefined);
    await within(writing[0]!.promise, 'A1 priced');
    const a2 = processA.process(A2);
    a2.catch(() => undefined);
    await within(writing[1]!.promise, 'A2 priced');
    // B1 waits in line for the months A1 holds.
    const b1 = processB.process(B1);
    b1.catch(() => undefined);
    await waitingForLock(dsA, appB);
    sinkA.release.resolve();

    const [r1, r2, r3] = await within(Promise.allSettled([a1, a2, b1]), 'all three settled');
    const failures = [r1, r2, r3].flatMap((r): unknown[] =>
      r.status === 'rejected' ? [r.reason] : [],
    );
    assert.deepEqual(
      failures.filter(isDeadlock).map(String),
      [],
      'no transaction was aborted as a deadlock',
    );
    assert.equal(r1.status, 'fulfilled', String((r1 as PromiseRejectedResult).reason));
    assert.equal(r3.status, 'fulfilled', String((r3 as PromiseRejectedResult).reason));
    if (r2.status === 'rejected') {
      // B1 moved the months after A2 priced them: A2 is rated again, as kafkajs would redeliver.
      assert.ok(r2.reason instanceof PositionConflictError, `A2: ${String(r2.reason)}`);
      await processA.process(A2);
    }
    assert.deepEqual(await orderFree(dsA), reference);
  });
});
