import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSource } from 'typeorm';
import { createLedgerDataSource, migrateLedger, revertLedgerThrough } from '@metering/ledger';
import { localInfra, uniqueName } from '@metering/testing';
import { type PricedUsage, type UnpricedPiece, emptyBucket, instanceKey } from '../src/domain';
import { pieceToJson } from '../src/ledger/ledger-rows';
import { type RatingLedgerStores, RatingLedger } from '../src/ledger/rating-ledger';
import { ledgerPool } from './ledger-pool';

// Unpriced pieces and usage events as rows per tenant month (docs/adr/0014-rating-scale-out.md,
// "A row per tenant month"), against real PostgreSQL: what a batch writes, what a pass reads,
// rows of the old shape (one piece, one event) read beside the new in id order, and the
// migration's `down`, which splits the rows back in order.

const T0 = Date.UTC(2026, 10, 3, 10, 0, 0);

function piece(
  tenantId: string,
  resourceId: string,
  period: string,
  fromMs: number,
  parts: number,
  final = false,
): UnpricedPiece {
  return {
    tenantId,
    resourceKind: 'vm',
    resourceId,
    instanceId: `${resourceId}/i`,
    period,
    gap: false,
    final,
    parts: Array.from({ length: parts }, (_, i) => ({
      fromMs: fromMs + i * 300_000,
      toMs: fromMs + (i + 1) * 300_000,
      bucketStartMs: fromMs + i * 300_000,
      // Exact figures far past a double's 2^53, and zero.
      cpuUsage: 123_456_789_012_345_678_901n + BigInt(i),
      cpuAllocation: 0n,
      cpuMax: 10n ** 30n,
      memoryUsage: 987_654_321_098_765_432_109n,
      memoryAllocation: 1n,
      memoryMax: 0n,
    })),
  };
}

function openWindow(p: UnpricedPiece): PricedUsage {
  return {
    tenantId: p.tenantId,
    resourceKind: p.resourceKind,
    resourceId: p.resourceId,
    instanceId: p.instanceId,
    fromMs: T0 - 300_000,
    toMs: T0,
    period: p.period,
    plan: null,
    currency: 'EUR',
    basis: 'usage',
    cpuUsage: 1n,
    memoryUsage: 2n,
    cpuPriced: 0n,
    memoryPriced: 0n,
    cpuAmount: 0n,
    memoryAmount: 0n,
    gap: false,
  };
}

/** Ids of every kind a tenant or resource may carry: quotes, backslashes, non-ASCII, long. */
const TENANT = 'tenant "é" \\ 🚀';
const OTHER = 't2';
const LONG = `r-${'x'.repeat(2_000)}`;

describe('unpriced pieces and usage events, a row per tenant month (real PostgreSQL)', () => {
  const schema = uniqueName('unpriced_rows');
  let ds: DataSource;
  let ledger: RatingLedgerStores;

  before(async () => {
    ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema, poolSize: 2 });
    await ds.initialize();
    await migrateLedger(ds);
    ledger = RatingLedger.on(ledgerPool(ds)).stores();
  });

  after(async () => {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds.destroy();
  });

  async function write(pieces: UnpricedPiece[]): Promise<void> {
    await ledger.batches.transaction((tx) =>
      ledger.batches.writeBatch(tx, {
        buckets: [],
        pieces,
        offset: { groupId: 'g', topic: 't', partition: 0, nextOffset: '1' },
      }),
    );
  }

  /** A row as a previous version wrote it: one piece, with its resource and instance. */
  async function writeOldShape(p: UnpricedPiece): Promise<string> {
    const rows = await ds.query<{ id: string }[]>(
      `INSERT INTO rating_unpriced_usage (tenant_id, period, resource_id, instance_id, piece)
       VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id::text`,
      [p.tenantId, p.period, p.resourceId, p.instanceId, JSON.stringify(pieceToJson(p))],
    );
    return rows[0]!.id;
  }

  const page = (tenantId: string, period: string, limit: number) =>
    ledger.pricing.transaction((tx) =>
      ledger.pricing.unpricedPage(tx, { tenantId, period }, limit),
    );

  async function clear(): Promise<void> {
    await ds.query(`DELETE FROM rating_unpriced_usage`);
    await ds.query(`DELETE FROM rating_open_window`);
    await ds.query(`DELETE FROM usage_outbox`);
  }

  test("a batch's pieces are a row per tenant month, read back in rating order", async () => {
    await clear();
    const pieces = [
      piece(TENANT, 'r1', '2026-11', T0, 2),
      piece(OTHER, 'r2', '2026-11', T0, 1),
      piece(TENANT, LONG, '2026-11', T0, 3),
      piece(TENANT, 'r1', '2026-12', Date.UTC(2026, 11, 1), 1),
      piece(TENANT, 'r1', '2026-11', T0 + 900_000, 1, true),
    ];
    await write(pieces);
    await write([]); // nothing to write: no row
    const rows = await ds.query<unknown[]>(
      `SELECT tenant_id, period, piece_count, jsonb_typeof(piece) AS shape,
              resource_id, instance_id
       FROM rating_unpriced_usage ORDER BY id`,
    );
    assert.deepEqual(rows, [
      {
        tenant_id: TENANT,
        period: '2026-11',
        piece_count: 3,
        shape: 'array',
        resource_id: null,
        instance_id: null,
      },
      {
        tenant_id: OTHER,
        period: '2026-11',
        piece_count: 1,
        shape: 'array',
        resource_id: null,
        instance_id: null,
      },
      {
        tenant_id: TENANT,
        period: '2026-12',
        piece_count: 1,
        shape: 'array',
        resource_id: null,
        instance_id: null,
      },
    ]);
    const november = await page(TENANT, '2026-11', 100);
    assert.deepEqual(november.pieces, [pieces[0], pieces[2], pieces[4]]);
    assert.equal(november.ids.length, 1);
    assert.deepEqual((await page(TENANT, '2026-12', 100)).pieces, [pieces[3]]);
    assert.deepEqual((await page(OTHER, '2026-11', 100)).pieces, [pieces[1]]);
    assert.deepEqual((await page('nobody', '2026-11', 100)).pieces, []);
  });

  test('rows of the old shape are rows of one, in id order with the new; a page takes whole rows until its limit; windows of its instances only', async () => {
    await clear();
    const old1 = piece(TENANT, 'old-1', '2026-11', T0, 1);
    const batch = [
      piece(TENANT, 'new-1', '2026-11', T0, 1),
      piece(TENANT, 'new-2', '2026-11', T0, 2),
      piece(TENANT, LONG, '2026-11', T0, 1),
    ];
    const old2 = piece(TENANT, 'old-2', '2026-11', T0 + 300_000, 1);
    const first = await writeOldShape(old1);
    await write(batch);
    const last = await writeOldShape(old2);
    const unrelated = piece(TENANT, 'elsewhere', '2026-11', T0, 1);
    const windows = [old1, batch[1]!, old2, unrelated].map(openWindow);
    await ledger.pricing.transaction((tx) =>
      ledger.pricing.storeWindows(
        tx,
        { tenantId: TENANT, period: '2026-11' },
        new Map(windows.map((w) => [instanceKey(w), w])),
        new Map(),
      ),
    );

    const one = await page(TENANT, '2026-11', 1);
    assert.deepEqual(one.pieces, [old1]);
    assert.deepEqual(one.ids, [first]);
    assert.deepEqual(
      one.windows.map((w) => w.resourceId),
      ['old-1'],
    );
    const two = await page(TENANT, '2026-11', 2);
    assert.deepEqual(two.pieces, [old1, ...batch], 'one piece before the batch: it comes whole');
    assert.equal(two.ids.length, 2);
    assert.deepEqual(two.windows.map((w) => w.resourceId).sort(), ['new-2', 'old-1']);
    const all = await page(TENANT, '2026-11', 5_000);
    assert.deepEqual(all.pieces, [old1, ...batch, old2]);
    assert.deepEqual(all.ids.at(-1), last);
    assert.deepEqual(all.windows.map((w) => w.resourceId).sort(), ['new-2', 'old-1', 'old-2']);

    // A pass deletes the rows it priced, by id.
    await ledger.pricing.transaction((tx) =>
      ledger.pricing.settle(
        tx,
        { tenantId: TENANT, period: '2026-11' },
        { amounts: [], moved: null, pieceRows: two.ids },
      ),
    );
    assert.deepEqual((await page(TENANT, '2026-11', 5_000)).pieces, [old2]);
  });

  test("the batch's own rows are priced from what it wrote, not read back: the table's pieces; held until priced or gone", async () => {
    await clear();
    // Stores of their own: what they write they hold; `ledger`'s hold none of it (another instance).
    const own = RatingLedger.on(ledgerPool(ds)).stores();
    const batch = [
      piece(TENANT, 'own-1', '2026-11', T0, 2),
      piece(OTHER, 'own-2', '2026-11', T0, 1),
      piece(TENANT, LONG, '2026-11', T0 + 600_000, 1, true),
      piece(TENANT, 'own-1', '2026-12', Date.UTC(2026, 11, 1), 1),
    ];
    const buckets = batch.flatMap((p) => p.parts.map((x) => emptyBucket(p, x.bucketStartMs)));
    const writeOwn = (pieces: UnpricedPiece[]) =>
      own.batches.transaction((tx) =>
        own.batches.writeBatch(tx, {
          buckets: pieces === batch ? buckets : [],
          pieces,
          offset: { groupId: 'g', topic: 't', partition: 0, nextOffset: '1' },
        }),
      );
    const totals = await writeOwn(batch);
    assert.equal(totals.length, buckets.length, 'the totals as before, one per bucket');
    assert.equal(own.written.size, 4, 'a row per tenant month held, with its pieces');
    const ownPage = (tenantId: string, period: string) =>
      own.pricing.transaction((tx) => own.pricing.unpricedPage(tx, { tenantId, period }, 5_000));
    for (const [tenantId, period] of [
      [TENANT, '2026-11'],
      [OTHER, '2026-11'],
      [TENANT, '2026-12'],
    ] as const)
      assert.deepEqual(await ownPage(tenantId, period), await page(tenantId, period, 5_000));
    assert.deepEqual((await ownPage(TENANT, '2026-11')).pieces, [batch[0], batch[2]]);

    // Which was read shows when the row says otherwise (the product never rewrites a row).
    await ds.query(
      `UPDATE rating_unpriced_usage SET piece = $1::jsonb WHERE tenant_id = $2 AND period = $3`,
      [
        JSON.stringify([pieceToJson(piece(OTHER, 'rewritten', '2026-11', T0, 1))]),
        OTHER,
        '2026-11',
      ],
    );
    assert.deepEqual((await ownPage(OTHER, '2026-11')).pieces, [batch[1]], 'what it wrote');
    assert.equal((await page(OTHER, '2026-11', 5_000)).pieces[0]?.resourceId, 'rewritten');

    // Priced by its own pass: not held any more.
    const nov = await ownPage(TENANT, '2026-11');
    await own.pricing.transaction((tx) =>
      own.pricing.settle(
        tx,
        { tenantId: TENANT, period: '2026-11' },
        { amounts: [], moved: null, pieceRows: nov.ids },
      ),
    );
    assert.equal(own.written.size, 2);
    // Priced by another instance: a page of the month shows it gone, and it is dropped.
    const dec = await page(TENANT, '2026-12', 5_000);
    await ledger.pricing.transaction((tx) =>
      ledger.pricing.settle(
        tx,
        { tenantId: TENANT, period: '2026-12' },
        { amounts: [], moved: null, pieceRows: dec.ids },
      ),
    );
    assert.deepEqual((await ownPage(TENANT, '2026-12')).pieces, []);
    assert.equal(own.written.size, 1);
    // A row written with no bucket comes back without its id: read from the table, as another's.
    await writeOwn([piece(TENANT, 'final-only', '2026-11', T0, 0, true)]);
    assert.equal(own.written.size, 1);
    assert.deepEqual(
      (await ownPage(TENANT, '2026-11')).pieces.map((p) => p.resourceId),
      ['final-only'],
    );
  });

  test("the migration's down splits rows of many back into rows of one, in order, and up reads them again", async () => {
    await clear();
    const old1 = piece(TENANT, 'old-1', '2026-11', T0, 1);
    const batch = [piece(TENANT, 'a', '2026-11', T0, 2), piece(OTHER, 'b', '2026-11', T0, 1)];
    const batch2 = [piece(TENANT, 'c', '2026-11', T0, 1), piece(TENANT, 'd', '2026-11', T0, 1)];
    await writeOldShape(old1);
    await write(batch);
    await write(batch2);
    await ds.query(`INSERT INTO usage_outbox (tenant_id, payload) VALUES ('old', '{"old" : "é"}')`);
    await ledger.outbox.transaction((tx) =>
      ledger.outbox.addToOutbox(tx, {
        keys: [TENANT, TENANT, OTHER],
        values: ['{"e":1}', '{"e" : 2}', '{"e":3}'],
      }),
    );
    const events = async () =>
      (await ledger.outbox.outboxBacklog(0, 100)).flatMap((r) => r.values.map((v) => [r.key, v]));
    const expectedEvents = [
      ['old', '{"old" : "é"}'],
      [TENANT, '{"e":1}'],
      [TENANT, '{"e" : 2}'],
      [OTHER, '{"e":3}'],
    ];
    assert.deepEqual(await events(), expectedEvents);

    // Back to the ledger before RowsPerTenantMonth (the migrations after it first).
    await revertLedgerThrough(ds, 'RowsPerTenantMonth1764724700000');
    const pieces = await ds.query<{ resource_id: string; piece: { resourceId: string } }[]>(
      `SELECT resource_id, piece FROM rating_unpriced_usage
       WHERE tenant_id = $1 ORDER BY id`,
      [TENANT],
    );
    assert.deepEqual(
      pieces.map((r) => [r.resource_id, r.piece.resourceId]),
      [
        ['old-1', 'old-1'],
        ['a', 'a'],
        ['c', 'c'],
        ['d', 'd'],
      ],
    );
    const payloads = await ds.query<{ tenant_id: string; payload: string }[]>(
      `SELECT tenant_id, payload FROM usage_outbox ORDER BY id`,
    );
    assert.deepEqual(
      payloads.map((r) => [r.tenant_id, r.payload]),
      expectedEvents,
    );

    await migrateLedger(ds);
    assert.deepEqual((await page(TENANT, '2026-11', 100)).pieces, [old1, batch[0], ...batch2]);
    assert.deepEqual((await page(OTHER, '2026-11', 100)).pieces, [batch[1]]);
    assert.deepEqual(await events(), expectedEvents);
  });
});
