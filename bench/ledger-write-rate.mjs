#!/usr/bin/env node
// How many ledger rows rating writes per sample, as a function of the minimum batch window
// (RATING_BATCH_WINDOW_MS; a script that prints figures, not a test; issue 19, item 2). The
// fleet's samples (bench/sample-stream.mjs: 10 s samples, restarts, gaps) arrive on each
// partition as a caught-up rating fetches them (`--fetch-ms` of sample time a fetch), go through
// the real BatchWindow (services/rating/src/consuming/batch-window.ts) with RATING_BATCH_WINDOW_MS
// = `window` sample intervals, and the batches it lets out are rated by the real
// SampleBatchProcessor against a fresh ledger schema on the local PostgreSQL (no Kafka, no
// InfluxDB). Window 0 is rating without a window: every fetch rated at once (always run first, as
// the baseline). The batch ledger is wrapped to count the rows each statement writes: instance
// states, resource dimension rows, usage buckets, unpriced pieces, the partition's offset; and
// the pricing stage (ADR 14), run after each batch for the months it touched, is counted too:
// month positions, bucket charges, pieces deleted, open windows and the usage outbox rows.
//
// Prints rows per sample per window, and the ledger's rows/s they give at 10,000, 100,000 and
// 1,000,000 resources sampled every 10 s (rows/s = resources / 10 × rows per sample).
//
//   npx tsc -b tsconfig.build.json && node bench/ledger-write-rate.mjs [--resources 2000]
//     [--ticks 60] [--windows 0.3,1,3,30] [--fetch-ms 1000] [--partitions 6] [--pass-every 1]
//     [--max-bytes 4194304] [--max-messages 20000]
//
// `--windows` are in sample intervals (10 s): 0.3 is RATING_BATCH_WINDOW_MS=3000, 30 is 300 s.
// Needs the local stack's PostgreSQL (npm run stack -- --infra). Its schemas are dropped at the end.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { fleetSamples } from './sample-stream.mjs';
import { DATABASE_URL } from './rating-process.mjs';

const require = createRequire(import.meta.url);
const dist = (p) => require(`../services/rating/dist/src/${p}`);
const { RatingLedger } = dist('ledger/rating-ledger.js');
const { BatchLedger, byTenantMonth } = dist('ledger/batch-ledger.store.js');
const { LedgerDb } = dist('ledger/ledger-db.js');
const { TenantCatalog } = dist('pricing/tenant-catalog.js');
const { SampleBatchProcessor } = dist('consuming/sample-batch.processor.js');
const { BatchWindow } = dist('consuming/batch-window.js');
const { PricingStore } = dist('ledger/pricing.store.js');
const { PricingStage } = dist('pricing/pricing.stage.js');
const { encodeUsageEvent } = dist('publishing/usage-event.encoder.js');

const { values: opts } = parseArgs({
  options: {
    resources: { type: 'string', default: '2000' },
    tenants: { type: 'string', default: '50' },
    ticks: { type: 'string', default: '60' },
    windows: { type: 'string', default: '0.3,1,3,30' },
    'fetch-ms': { type: 'string', default: '1000' },
    'max-bytes': { type: 'string', default: String(4_194_304) },
    'max-messages': { type: 'string', default: '20000' },
    partitions: { type: 'string', default: '6' },
    'pass-every': { type: 'string', default: '1' },
  },
});
const RESOURCES = Number(opts.resources);
const TENANTS = Number(opts.tenants);
const TICKS = Number(opts.ticks);
const PARTITIONS = Number(opts.partitions);
/** The pricing stage prices after every this many batches (1: after each, its worst case). */
const PASS_EVERY = Number(opts['pass-every']);
/** Window 0 (no window: each fetch rated at once) first, as the baseline of the same run. */
const WINDOWS = [
  0,
  ...opts.windows
    .split(',')
    .map(Number)
    .filter((w) => w > 0),
];
const FETCH_MS = Number(opts['fetch-ms']);
const MAX_BYTES = Number(opts['max-bytes']);
const MAX_MESSAGES = Number(opts['max-messages']);
const SAMPLE_INTERVAL_S = 10;
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Counts what each statement of the batch's transaction writes. */
class CountingLedger extends BatchLedger {
  rows = { states: 0, resources: 0, buckets: 0, pieces: 0, offsets: 0 };
  async saveStates(tx, states) {
    const list = [...states];
    this.rows.states += list.length;
    return super.saveStates(tx, list);
  }
  async upsertResources(tx, rows) {
    this.rows.resources += rows.length;
    return super.upsertResources(tx, rows);
  }
  async writeBatch(tx, batch) {
    const buckets = [...batch.buckets];
    this.rows.buckets += buckets.length;
    // Rows, not pieces: a row per tenant month (its pieces as an array).
    this.rows.pieces += byTenantMonth(batch.pieces).length;
    this.rows.offsets += 1;
    return super.writeBatch(tx, { ...batch, buckets });
  }
}

/** Counts what the pricing stage's passes write. */
class CountingPricing extends PricingStore {
  rows = { positions: 0, charged: 0, priced: 0, windows: 0 };
  async settle(tx, key, settled) {
    this.rows.positions += settled.moved === null ? 0 : 1;
    this.rows.charged += settled.amounts.length;
    this.rows.priced += settled.pieceRows.length;
    return super.settle(tx, key, settled);
  }
  async storeWindows(tx, key, windows, instances) {
    this.rows.windows += windows.size;
    return super.storeWindows(tx, key, windows, instances);
  }
}

// Samples by partition (key hash), in the order collectors publish them: one tick = one reading
// of every resource, so a batch of `window` ticks holds `window` samples of each of its resources.
const byPartition = Array.from({ length: PARTITIONS }, () => []);
for (const { key, value } of fleetSamples({
  samples: RESOURCES * TICKS,
  resources: RESOURCES,
  tenants: TENANTS,
})) {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  byPartition[h % PARTITIONS].push({ key: Buffer.from(key), value: Buffer.from(value) });
}
const perTick = byPartition.map((p) => Math.ceil(p.length / TICKS));

const admin = new pg.Client({ connectionString: DATABASE_URL });
await admin.connect();
const results = [];
try {
  for (const window of WINDOWS) {
    const schema = `writes_${Date.now().toString(36)}_${Math.round(window * SAMPLE_INTERVAL_S * 1000)}`;
    const ds = createLedgerDataSource({ url: DATABASE_URL, schema, poolSize: 4 });
    await ds.initialize();
    try {
      await migrateLedger(ds);
      await seedCatalog(ds);
      // Rating's ledger runs on node-postgres's pool: the DataSource's, with its schema.
      const pool = ds.driver.master;
      const stores = RatingLedger.on(pool).stores();
      const batches = new CountingLedger(new LedgerDb(pool));
      const pricing = new CountingPricing(new LedgerDb(pool));
      let outboxRows = 0;
      const catalog = new TenantCatalog(stores.catalog, {
        ttlMs: 3_600_000,
        defaultTimeZone: 'UTC',
        defaultCurrency: 'EUR',
      });
      const usageSink = {
        ready: () => Promise.resolve(),
        stage: async (tx, closed) => {
          // A row per tenant (the store's), its events in it.
          outboxRows += new Set(closed.map((u) => u.tenantId)).size;
          await stores.outbox.addToOutbox(tx, {
            keys: closed.map((u) => u.tenantId),
            values: closed.map((u) => encodeUsageEvent(u, '"2026-12-04T00:00:00.000Z"')),
          });
          return { rows: [] };
        },
        committed: () => undefined,
      };
      const stage = new PricingStage(
        pricing,
        catalog,
        usageSink,
        { priced: () => undefined },
        { windows: { windowMs: 300_000 }, intervalMs: 1_000, idleMs: 3_600_000 },
      );
      const processor = new SampleBatchProcessor(
        { batches, reprices: stores.reprices },
        catalog,
        { publishAll: () => Promise.resolve() },
        usageSink,
        { committed: () => undefined },
        {
          groupId: 'write-rate',
          rules: { maxGapMs: 300_000 },
          maxFutureSkewMs: 300_000,
          windows: { windowMs: 300_000 },
          repricePageBuckets: 10_000,
        },
      );
      let samples = 0;
      let batchCount = 0;
      const rate = async (batch) => {
        await processor.process(batch);
        if ((batchCount + 1) % PASS_EVERY === 0) await stage.drain();
        samples += batch.messages.length;
        batchCount += 1;
      };
      const windowMs = window * SAMPLE_INTERVAL_S * 1000;
      const gathering = new BatchWindow({
        windowMs,
        maxBytes: MAX_BYTES,
        maxMessages: MAX_MESSAGES,
      });
      const started = performance.now();
      for (let p = 0; p < PARTITIONS; p++) {
        const messages = byPartition[p];
        // A caught-up fetch holds what arrived since the previous one: FETCH_MS of sample time.
        const perFetch = Math.max(
          1,
          Math.round((perTick[p] * FETCH_MS) / (SAMPLE_INTERVAL_S * 1000)),
        );
        for (let i = 0; i < messages.length; i += perFetch) {
          const fetch = batchOf(p, messages.slice(i, i + perFetch), i);
          if (!gathering.enabled) {
            await rate(fetch);
            continue;
          }
          // The clock is the sample time the fetch ends at (a caught-up rating).
          const nowMs = ((i + perFetch) / perTick[p]) * SAMPLE_INTERVAL_S * 1000;
          if (gathering.gather(fetch, nowMs).kind === 'due') await rate(gathering.take(p).batch);
        }
        // What the partition still holds: rated by the window's timer.
        const rest = gathering.take(p);
        if (rest !== null) await rate(rest.batch);
      }
      await stage.drain();
      const seconds = (performance.now() - started) / 1000;
      const rows = { ...batches.rows, ...pricing.rows, outbox: outboxRows };
      const total = Object.values(rows).reduce((a, b) => a + b, 0);
      results.push({ window, samples, batchCount, rows, total, seconds });
      log(`window ${windowMs} ms: ${total} rows for ${samples} samples in ${batchCount} batches`);
    } finally {
      await ds.destroy();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }
} finally {
  await admin.end();
}

const fmt = (n, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
console.log(
  `\nledger rows written per sample, ${fmt(RESOURCES)} resources × ${TICKS} samples ` +
    `(${SAMPLE_INTERVAL_S} s apart), ${PARTITIONS} partitions, ${TENANTS} tenants, ` +
    `fetches of ${FETCH_MS} ms of samples, a pricing pass every ${PASS_EVERY} batch(es)`,
);
console.log(
  '  RATING_BATCH_WINDOW_MS  rows/sample  states buckets  pieces offsets resources | positions charged  priced windows outbox  batches',
);
for (const r of results) {
  const per = (n) => (n / r.samples).toFixed(3).padStart(7);
  console.log(
    `  ${windowLabel(r.window).padStart(21)}   ${(r.total / r.samples).toFixed(3).padStart(11)}` +
      `  ${per(r.rows.states)} ${per(r.rows.buckets)} ${per(r.rows.pieces)} ${per(r.rows.offsets)}` +
      `   ${per(r.rows.resources)} |   ${per(r.rows.positions)} ${per(r.rows.charged)} ${per(r.rows.priced)}` +
      ` ${per(r.rows.windows)} ${per(r.rows.outbox)}  ${String(r.batchCount).padStart(7)}`,
  );
}
console.log('\nthe ledger write rate this gives (rows/s = resources / 10 s × rows per sample)');
console.log(
  `  RATING_BATCH_WINDOW_MS ${[10_000, 100_000, 1_000_000].map((r) => `${fmt(r)} res.`.padStart(16)).join('')}`,
);
for (const r of results) {
  const perSample = r.total / r.samples;
  console.log(
    `  ${windowLabel(r.window).padStart(21)}` +
      [10_000, 100_000, 1_000_000]
        .map((res) => `${fmt((res / SAMPLE_INTERVAL_S) * perSample)} rows/s`.padStart(16))
        .join(''),
  );
}

function windowLabel(window) {
  return window === 0 ? '0 (none)' : String(window * SAMPLE_INTERVAL_S * 1000);
}

function batchOf(partition, slice, firstOffset) {
  const now = String(Date.now());
  const messages = slice.map((m, i) => ({
    topic: 'bench.samples',
    partition,
    offset: String(firstOffset + i),
    key: m.key,
    value: m.value,
    headers: {},
    timestamp: now,
  }));
  const last = firstOffset + slice.length - 1;
  return {
    topic: 'bench.samples',
    partition,
    messages,
    firstOffset: String(firstOffset),
    lastOffset: String(last),
    nextOffset: String(last + 1),
    highWatermark: String(last + 1),
  };
}

/** The throughput bench's catalog: tenants in three zones, a tiered plan for four in five. */
async function seedCatalog(ds) {
  const zones = ['UTC', 'Asia/Kolkata', 'America/New_York'];
  for (let i = 0; i < TENANTS; i++) {
    await ds.query(
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, $2, 'EUR')`,
      [`tenant-${i}`, zones[i % zones.length]],
    );
  }
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
     VALUES ('std', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb)`,
    [
      JSON.stringify([
        { upTo: '1000', unitPrice: '0.040' },
        { upTo: null, unitPrice: '0.030' },
      ]),
      JSON.stringify([
        { upTo: '500', unitPrice: '0.0050' },
        { upTo: null, unitPrice: '0.0040' },
      ]),
    ],
  );
  await ds.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
     SELECT 'tenant-' || i, '2026-01-01T00:00:00Z', 'std', 1
     FROM generate_series(0, $1::int - 1) i WHERE i % 5 <> 4`,
    [TENANTS],
  );
}
