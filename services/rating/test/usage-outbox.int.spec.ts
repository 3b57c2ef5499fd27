import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { decodeUsage } from '@metering/contracts';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { type PricedUsage, instanceKey } from '../src/domain';
import { type RatingLedgerStores, RatingLedger } from '../src/ledger/rating-ledger';
import { PricingStage } from '../src/pricing/pricing.stage';
import { TenantCatalog } from '../src/pricing/tenant-catalog';
import { UsageEventOutbox, type UsageEventTransport } from '../src/publishing/usage-event.outbox';
import { ledgerPool } from './ledger-pool';

// The usage outbox against real PostgreSQL. The transport is a stand-in for the usage producer
// thread (tested against the real broker in usage-producer-thread.int.spec.ts) that can refuse,
// as Kafka does when it is down: nothing committed is lost, nothing is published twice as two
// different events, idle windows go out (the pricing stage's sweep), and a window whose month
// another instance is pricing (holds the lease) is left alone.

const T0 = Date.UTC(2026, 10, 3, 10, 0, 0);

function usage(resourceId: string, fromMs: number, toMs: number, tenantId = 'acme'): PricedUsage {
  return {
    tenantId,
    resourceKind: 'container',
    resourceId,
    instanceId: `${resourceId}-i`,
    fromMs,
    toMs,
    period: '2026-11',
    plan: { id: 'std', version: 1 },
    currency: 'EUR',
    basis: 'usage',
    cpuUsage: 1_000_000_000_000n, // 1 core-second
    memoryUsage: 0n,
    cpuPriced: 1_000_000_000_000n,
    memoryPriced: 0n,
    cpuAmount: 10n ** 18n, // 0.01 EUR
    memoryAmount: 0n,
    gap: false,
  };
}

class FlakyTransport implements UsageEventTransport {
  down = false;
  calls = 0;
  readonly sent: string[] = [];
  send(_keys: string[], values: string[]): Promise<void> {
    this.calls += 1;
    if (this.down) return Promise.reject(new Error('broker not available (stand-in)'));
    this.sent.push(...values);
    return Promise.resolve();
  }
}

describe('usage outbox (real PostgreSQL)', () => {
  const schema = uniqueName('outbox');
  let ds: DataSource;
  let ledger: RatingLedgerStores;
  const transport = new FlakyTransport();
  const metrics = new MetricsRegistry({ serviceName: 'rating', collectDefaultMetrics: false });
  let outbox: UsageEventOutbox;

  before(async () => {
    ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema, poolSize: 4 });
    await ds.initialize();
    await migrateLedger(ds);
    ledger = RatingLedger.on(ledgerPool(ds)).stores();
    outbox = new UsageEventOutbox(
      ledger.outbox,
      transport,
      metrics,
      createRootLogger({ level: 'fatal' }),
      { sweepMs: 60_000, maxInFlight: 2, resendAfterMs: 0 },
      () => T0 + 3_600_000,
    );
  });

  after(async () => {
    await outbox.stop();
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds.destroy();
  });

  /** Events waiting in the outbox (a row holds a pass's events of one tenant). */
  const rows = async () =>
    (
      await ds.query<{ n: number }[]>(
        `SELECT coalesce(sum(coalesce(event_count, 1)), 0)::int AS n FROM usage_outbox`,
      )
    )[0]!.n;
  const pending = async () =>
    (await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM rating_open_window`))[0]!.n;

  /** A pricing pass: open windows and complete windows in one transaction, then published. */
  async function commitBatch(closed: PricedUsage[], open: PricedUsage[]): Promise<void> {
    const staged = await ledger.pricing.transaction(async (tx) => {
      for (const w of open) {
        await ledger.pricing.storeWindows(
          tx,
          { tenantId: w.tenantId, period: w.period },
          new Map([[instanceKey(w), w]]),
          new Map([[instanceKey(w), w]]),
        );
      }
      return outbox.stage(tx, closed);
    });
    outbox.committed(staged);
    await outbox.stop(); // waits for the publication under way
  }

  test('events are stored byte for byte, in order, with their keys: quotes, escapes, non-ASCII, large', async () => {
    const values = [
      '{"a":"x\\"y","b" : [1, 2.50]}',
      '{"nul":"\\u0000","tab":"\\t","bs":"\\\\"}',
      '{"é":"Ωmega 🚀","k":"\\ud83d\\ude80"}',
      JSON.stringify({ big: 'x'.repeat(200_000) }),
      '{}',
    ];
    // Keys repeat (t4 thrice): one row per key, its events in order, the keys in the order of
    // their first event.
    const keys = ['t"1', 't4', 't\\2', 'tenant é', 't4', 't4'];
    const staged = await ledger.outbox.transaction((tx) =>
      ledger.outbox.addToOutbox(tx, { keys, values: [...values, '[1, {"x" : null}]'] }),
    );
    const expected = [
      ['t"1', [values[0]]],
      ['t4', [values[1], values[4], '[1, {"x" : null}]']],
      ['t\\2', [values[2]]],
      ['tenant é', [values[3]]],
    ];
    assert.deepEqual(
      staged.map((r) => [r.key, r.values]),
      expected,
    );
    const ids = staged.map((r) => r.id);
    const read = await ledger.outbox.outboxBacklog(0, 1_000);
    assert.deepEqual(
      read.map((r) => [r.id, r.key, r.values]),
      staged.map((r) => [r.id, r.key, r.values]),
      'read back byte for byte, in order',
    );
    const stored = await ds.query<{ n: number; count: number }[]>(
      `SELECT count(*)::int AS n, sum(event_count)::int AS count FROM usage_outbox
       WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    assert.deepEqual(stored[0], { n: 4, count: 6 });
    await assert.rejects(
      ledger.outbox.transaction((tx) =>
        ledger.outbox.addToOutbox(tx, { keys: ['a', 'b'], values: ['{}'] }),
      ),
      /2 keys for 1 events/,
    );
    // A row's events are its lines: a raw line feed (or the record separator between rows as
    // they are sent) in an event is refused, and nothing of the call is stored.
    const before = await rows();
    for (const bad of ['{"a":\n1}', '{"a":"\u001e"}']) {
      await assert.rejects(
        ledger.outbox.transaction((tx) =>
          ledger.outbox.addToOutbox(tx, { keys: ['a', 'b'], values: ['{}', bad] }),
        ),
        /event 1 holds a line feed or a record separator/,
      );
    }
    assert.equal(await rows(), before);
    await ds.query(`DELETE FROM usage_outbox WHERE id = ANY($1::bigint[])`, [ids]);
  });

  test('Kafka down: committed events stay in the outbox; the sweep publishes them once it is back', async () => {
    transport.down = true;
    await commitBatch([usage('r1', T0, T0 + 300_000), usage('r2', T0, T0 + 300_000)], []);
    assert.equal(await rows(), 2, 'both events wait in the outbox');
    assert.equal(transport.sent.length, 0);

    await outbox.sweep(); // still down: nothing lost
    assert.equal(await rows(), 2);

    transport.down = false;
    await outbox.sweep();
    assert.equal(await rows(), 0, 'acknowledged rows are deleted');
    const events = transport.sent.map((v) => decodeUsage(Buffer.from(v)));
    assert.ok(events.every((e) => e.ok));
    assert.deepEqual(
      events.map((e) => (e.ok ? [e.value.resource.id, e.value.cpuCoreSeconds] : null)).sort(),
      [
        ['r1', '1'],
        ['r2', '1'],
      ],
    );
    const failures = await metrics.registry.getSingleMetricAsString(
      'rating_usage_publish_failures_total',
    );
    assert.match(failures, /^rating_usage_publish_failures_total(\{[^}]*\})? 2$/m);
  });

  test('an idle open window is published as it is; one whose month is leased is left alone', async () => {
    transport.sent.length = 0;
    const stage = new PricingStage(
      ledger.pricing,
      new TenantCatalog(ledger.catalog, {
        ttlMs: 60_000,
        defaultTimeZone: 'UTC',
        defaultCurrency: 'EUR',
      }),
      outbox,
      { priced: () => undefined },
      { windows: { windowMs: 300_000 }, intervalMs: 1_000, idleMs: 60_000 },
    );
    await commitBatch([], [usage('r3', T0, T0 + 120_000), usage('r4', T0, T0 + 60_000, 'beta')]);
    assert.equal(await pending(), 2);
    await stage.sweep();
    await outbox.stop();
    assert.equal(transport.sent.length, 0, 'not idle yet');

    // Both idle for an hour; another instance is pricing beta's month (holds its lease).
    await ds.query(`UPDATE rating_open_window SET updated_at = now() - interval '1 hour'`);
    await ds.query(
      `INSERT INTO tenant_month_position (tenant_id, period) VALUES ('beta', '2026-11')
       ON CONFLICT DO NOTHING`,
    );
    const runner = ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query(
      `SELECT 1 FROM tenant_month_position WHERE tenant_id = 'beta' AND period = '2026-11' FOR UPDATE`,
    );
    try {
      await waitFor(
        async () => {
          await stage.sweep();
          await outbox.stop();
          return transport.sent.length > 0;
        },
        { timeoutMs: 10_000, intervalMs: 50, description: 'the idle window of r3 published' },
      );
      assert.equal(transport.sent.length, 1, 'only r3');
      const event = decodeUsage(Buffer.from(transport.sent[0]!));
      assert.ok(event.ok);
      assert.equal(event.value.resource.id, 'r3');
      assert.equal(event.value.interval.end, new Date(T0 + 120_000).toISOString());
      assert.equal(await pending(), 1, 'r4 is still open: its month is leased');
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    await stage.sweep();
    await outbox.stop();
    assert.equal(transport.sent.length, 2);
    assert.equal(await pending(), 0);
    assert.equal(await rows(), 0);
  });

  test('a row of the old shape (one payload) is a row of one, in id order; a page takes whole rows until its limit', async () => {
    const [old] = await ds.query<{ id: string }[]>(
      `INSERT INTO usage_outbox (tenant_id, payload) VALUES ('old', '{"old" : 1}') RETURNING id::text`,
    );
    const [n, m] = await ledger.outbox.transaction(async (tx) => [
      ...(await ledger.outbox.addToOutbox(tx, {
        keys: ['n', 'n', 'n'],
        values: ['{"n":1}', '{"n":2}', '{"n":3}'],
      })),
      ...(await ledger.outbox.addToOutbox(tx, { keys: ['m'], values: ['{"m":1}'] })),
    ]);
    const page = async (limit: number) =>
      (await ledger.outbox.outboxBacklog(0, limit)).map((r) => [r.id, r.key, r.values.length]);
    assert.deepEqual(await page(1_000), [
      [old!.id, 'old', 1],
      [n!.id, 'n', 3],
      [m!.id, 'm', 1],
    ]);
    assert.deepEqual(
      await page(2),
      [
        [old!.id, 'old', 1],
        [n!.id, 'n', 3],
      ],
      'one event before n: n comes whole',
    );
    assert.deepEqual(await page(1), [[old!.id, 'old', 1]]);
    assert.equal((await ledger.outbox.outboxDepth()).events, 5);
    transport.down = true;
    await outbox.sweep();
    assert.equal(await rows(), 5, 'refused: all stay');
    transport.down = false;
    const before = transport.sent.length;
    await outbox.sweep();
    assert.deepEqual(transport.sent.slice(before), [
      '{"old" : 1}',
      '{"n":1}',
      '{"n":2}',
      '{"n":3}',
      '{"m":1}',
    ]);
    assert.equal(await rows(), 0);
    transport.sent.length = 0;
  });

  test('Kafka down with a full page waiting: the sweep tries it once and leaves it to the next sweep', async () => {
    const many = Array.from({ length: 5_001 }, (_, i) => `{"i":${i}}`);
    await ledger.outbox.transaction((tx) =>
      ledger.outbox.addToOutbox(tx, { keys: many.map(() => 'big'), values: many }),
    );
    transport.down = true;
    const calls = transport.calls;
    await outbox.sweep();
    assert.equal(transport.calls - calls, 1, 'one attempt, not the page read again and again');
    assert.equal(await rows(), 5_001);
    transport.down = false;
    const before = transport.sent.length;
    await outbox.sweep();
    assert.deepEqual(transport.sent.slice(before), many);
    assert.equal(await rows(), 0);
    transport.sent.length = 0;
  });
});
