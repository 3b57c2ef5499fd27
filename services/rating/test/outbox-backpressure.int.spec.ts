import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DataSource } from 'typeorm';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { uniqueName } from '@metering/testing';
import { RatingLedger } from '../src/ledger/rating-ledger';
import { UsageEventOutbox, type UsageEventTransport } from '../src/publishing/usage-event.outbox';
import { batchOf, deferred, processorOn, tieredLedger, within } from './processor-harness';
import { ledgerPool } from './ledger-pool';

// Kafka slower than rating: a batch waits until the usage events in flight are acknowledged —
// before its transaction, holding no lock. Had it waited in the transaction (it did, in the
// outbox's staging), it would hold its tenants' month positions meanwhile, and every other
// rating instance would wait for one instance's Kafka. Real PostgreSQL; the transport is a
// stand-in for the usage producer thread that acknowledges only when told.

const TENANT = 't-a';
const GROUP = 'backpressure';
const SIZE = { resources: 3, samplesPerResource: 30 };
const FIRST = batchOf(0, 51, [TENANT], SIZE);
const SECOND = batchOf(1, 52, [TENANT], SIZE);

/** Acknowledges every send when released; until then sends are in flight. */
class HeldTransport implements UsageEventTransport {
  readonly released = deferred();
  sends = 0;
  async send(): Promise<void> {
    this.sends += 1;
    await this.released.promise;
  }
}

describe('rating: usage events in flight hold the next batch back (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string }[] = [];
  after(async () => {
    for (const { ds, schema } of opened) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  test('the next batch waits before its transaction, its tenants’ month positions free', async () => {
    const schema = uniqueName('backpressure');
    const ds = await tieredLedger({ schema, tenants: [TENANT], create: true });
    opened.push({ ds, schema });
    const transport = new HeldTransport();
    const outbox = new UsageEventOutbox(
      RatingLedger.on(ledgerPool(ds)).stores().outbox,
      transport,
      new MetricsRegistry({ serviceName: 'rating', collectDefaultMetrics: false }),
      createRootLogger({ serviceName: 'rating-test', level: 'silent' }),
      { sweepMs: 3_600_000, maxInFlight: 1 },
    );
    const started: string[] = [];
    const processor = processorOn(ds, outbox, {
      groupId: GROUP,
      phases: {
        start: (phase) => {
          started.push(phase);
          return () => undefined;
        },
      },
    });

    await processor.process(FIRST);
    assert.equal(transport.sends, 1, 'the first batch’s events are on their way, not acknowledged');
    const phasesOfFirst = started.length;

    const second = processor.process(SECOND);
    second.catch(() => undefined);
    // Long enough for the second batch to reach its staging, had it begun.
    await sleep(1_000);
    assert.deepEqual(started.slice(phasesOfFirst), [], 'the second batch has not begun');
    // Another instance can take the tenant's month positions at once.
    await ds.transaction(async (tx) => {
      const rows = await tx.query<unknown[]>(
        `SELECT 1 FROM tenant_month_position WHERE tenant_id = $1 FOR UPDATE NOWAIT`,
        [TENANT],
      );
      assert.equal(rows.length, 1);
    });

    transport.released.resolve();
    const outcome = await within(second, 'the second batch once Kafka acknowledged');
    assert.ok(outcome.rated > 0);
    const offsets = await ds.query<{ partition: number }[]>(
      `SELECT partition FROM consumer_offset WHERE group_id = $1 ORDER BY 1`,
      [GROUP],
    );
    assert.deepEqual(
      offsets.map((o) => o.partition),
      [FIRST.partition, SECOND.partition],
    );
    await outbox.stop();
  });
});
