#!/usr/bin/env node
// What pricing a large month again costs the rating service (a script that prints figures, not
// a test): a tenant with R resources that ran every hour of a month (R × 720 usage buckets,
// written straight into a fresh ledger schema), a plan assigned back to the 1st while no rating
// process ran; then the real rating process starts with the deployed runtime settings (heap
// budget), notices the change at its first batch (one sample on a fresh topic) and prices the
// month again page by page. Prints the time until the month is repriced, the rating process's
// peak RSS, and checks the month's charges equal the graduated price of its total.
//
//   npx tsc -b services/rating && node bench/reprice-month.mjs [--resources 1000] [--env K=V]
//
// For comparison, the whole month as one page: --env REPRICE_PAGE_BUCKETS=1000000 (with 1,000
// resources rating runs out of its 160 MB heap and aborts; the bench says so and cleans up).
//
// Needs the local stack (npm run stack -- --infra). Everything it created is deleted at the end.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { Decimal } from '@metering/money';
import { parseTiers, priceGraduated } from '@metering/pricing';
import { encodeSample, sampleIdOf } from '@metering/contracts';
import { statusKb } from '@metering/testing';
import {
  BROKERS,
  DATABASE_URL,
  INFLUX_URL,
  deployedRuntime,
  envPairs,
  freePort,
  spawnRating,
} from './rating-process.mjs';

const { values: opts } = parseArgs({
  options: {
    resources: { type: 'string', default: '1000' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const RESOURCES = Number(opts.resources);
const HOURS = 720; // November
const NOV = Date.UTC(2026, 10, 1);
const CPU_TIERS = [
  { upTo: '100000', unitPrice: '0.040' },
  { upTo: null, unitPrice: '0.030' },
];
const name = `reprice_${Date.now().toString(36)}`;
const topic = `${name}.samples`;
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const kafka = new kafkajs.Kafka({ clientId: 'reprice-bench', brokers: BROKERS, logLevel: 0 });
const admin = kafka.admin();
await admin.connect();
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
let rating;
let cleaned = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}
try {
  const ds = createLedgerDataSource({ url: DATABASE_URL, schema: name, poolSize: 2 });
  await ds.initialize();
  await migrateLedger(ds);
  await ds.destroy();
  await db.query(`SET search_path TO "${name}"`);
  await db.query(
    `INSERT INTO tenant (id, name, time_zone, currency) VALUES ('big', 'Big', 'UTC', 'EUR')`,
  );
  await db.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
     VALUES ('std', 1, 'EUR', 'usage', $1::jsonb, NULL)`,
    [JSON.stringify(CPU_TIERS)],
  );
  let t = Date.now();
  // Every resource every hour of November: 900 core-seconds each (a quarter core), no charges.
  await db.query(
    `INSERT INTO usage_bucket (tenant_id, resource_id, bucket_start, resource_kind,
       cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
       memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
       observed_ms, gap_ms)
     SELECT 'big', 'ctr-' || r, to_timestamp($1::numeric / 1000) + h * interval '1 hour', 'container',
            900, 0, 900, 0, 0, 0, 3600000, 0
     FROM generate_series(1, $2::int) r, generate_series(0, $3::int - 1) h`,
    [String(NOV), RESOURCES, HOURS],
  );
  await db.query(`ANALYZE usage_bucket`);
  const buckets = RESOURCES * HOURS;
  log(
    `${buckets.toLocaleString('en-US')} buckets written in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
  // Assigned back to the 1st while no rating process runs: the next start notices it.
  await db.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
     VALUES ('big', $1, 'std', 1)`,
    [new Date(NOV).toISOString()],
  );

  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  const observedAt = new Date(Date.now() - 60_000).toISOString();
  const sample = {
    schema: 'metering.sample.v1',
    sampleId: sampleIdOf({
      source: 'docker',
      host: 'h',
      resourceId: 'trigger',
      instanceId: 'i',
      observedAt,
    }),
    source: 'docker',
    host: 'h',
    resource: {
      kind: 'container',
      id: 'trigger',
      name: 'trigger',
      tenantId: 'other',
      instanceId: 'i',
      startedAt: observedAt,
    },
    observedAt,
    lifecycle: 'start',
    cpu: { usageNs: '0', allocationCores: null },
    memory: { usageBytes: 0, allocationBytes: null },
  };
  await producer.send({ topic, messages: [{ key: 'trigger', value: encodeSample(sample) }] });
  await producer.disconnect();

  const port = await freePort();
  const extra = envPairs(opts.env);
  log(`starting rating ${JSON.stringify({ ...deployedRuntime(), ...extra })}`);
  t = performance.now();
  rating = spawnRating({
    name,
    topic,
    port,
    env: extra,
  });
  for (;;) {
    await sleep(200);
    if (rating.exitCode !== null || rating.signalCode !== null) {
      throw new Error(`rating exited (${rating.exitCode ?? rating.signalCode})`);
    }
    if (performance.now() - t > 20 * 60_000) throw new Error('not repriced within 20 min');
    const r = await db
      .query(`SELECT count(*)::int AS n FROM rating_priced_assignment`)
      .catch(() => ({ rows: [{ n: 0 }] }));
    if (r.rows[0].n > 0) break;
  }
  const seconds = (performance.now() - t) / 1000;
  const vmHwmKb = statusKb(rating.pid, 'VmHWM');
  const sum = await db.query(
    `SELECT sum(amount)::text AS amount, sum(cpu_usage_core_seconds)::text AS cpu
     FROM usage_bucket LEFT JOIN usage_bucket_charge USING (tenant_id, resource_id, bucket_start)
     WHERE tenant_id = 'big'`,
  );
  const expected = priceGraduated(
    parseTiers('cpu', CPU_TIERS),
    new Decimal(sum.rows[0].cpu),
  ).amount;
  const got = new Decimal(sum.rows[0].amount);
  console.log(`
reprice of one month, ${buckets.toLocaleString('en-US')} buckets (${RESOURCES} resources × ${HOURS} hours)
  repriced ${seconds.toFixed(1)} s after rating started (${Math.round(buckets / seconds).toLocaleString('en-US')} buckets/s, start-up included)
  rating peak RSS (VmHWM) ${(vmHwmKb / 1024).toFixed(0)} MB
  month's charges ${got.toFixed(6)} EUR, graduated price of its total ${expected.toFixed(6)} EUR: ${got.minus(expected).abs().lessThan('1e-12') ? 'equal' : 'DIFFERENT'}`);
} catch (error) {
  log(`FAILED: ${error.message}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

/** Deletes what the run created (also on SIGINT/SIGTERM); runs once. */
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  log('cleaning up');
  if (rating !== undefined && rating.exitCode === null && rating.signalCode === null) {
    const exited = new Promise((resolve) => rating.once('exit', resolve));
    rating.kill('SIGTERM');
    await exited;
  }
  // Only those that exist: kafkajs retries deleting an unknown topic for a long time.
  const existing = new Set(await admin.listTopics().catch(() => []));
  const ours = [topic, `${name}.dlq`, `${name}.usage`].filter((t) => existing.has(t));
  if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
  await db.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => undefined);
  await fetch(`${INFLUX_URL}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `DROP DATABASE "${name}"` }),
  }).catch(() => undefined);
  log(`deleted topics, schema and InfluxDB database ${name}`);
  await admin.disconnect();
  await db.end();
}
