#!/usr/bin/env node
// Throughput of the rating service against the raw consumers, on the local broker (a script that
// prints figures, not a test). In one run:
//   produce N realistic samples (1,000 resources, 50 tenants, 10 s apart, restarts, counter resets,
//   wandering memory, limits) to a fresh topic with 6 partitions, then measure
//   (a) kcat consuming them raw, (b) a no-op kafkajs consumer (eachBatch, count), (b') the same
//   consumer running rating's sample decoder on every message (a reference), (c) the rating
//   service (a real process, own schema, group, topics and InfluxDB database) until the ledger
//   has caught up (stored offsets == end offsets), and print samples/s, c/b' (issue 19's target:
//   ≥ 50 %, PASS/FAIL), c/b, c/a, the rating process's peak RSS (VmHWM, < 300 MB) and CPU per
//   sample (main thread and the others: V8's GC helpers, libuv, the usage producer), where the
//   machine's CPU went during (c) (rating, PostgreSQL, InfluxDB, Kafka), the ledger rows written
//   (pg_stat_user_tables, usage_bucket and instance_state) per second against samples per second,
//   their bytes per row, and the time rating's transactions waited on locks (pg_stat_activity,
//   bench/ledger-watch.mjs). Everything it created is deleted at the end.
//
//   npx tsc -b services/rating && npm run bench:throughput -w @metering/rating -- --samples 1000000
//
// Options: --samples N (1,000,000) --resources N (1,000) --tenants N (50) --partitions N (6)
//          --instances N (1; more: after the one-instance run, the same samples rated again by N
//          processes in one consumer group, on a fresh ledger: the scale-out figure, with the CPU
//          per sample of both runs and the time batches waited on locks another process held)
//          --env KEY=VALUE (extra rating settings, repeatable) --variant-env KEY=VALUE (one more
//          one-instance run with these settings on top, printed beside the first: an A/B)
//          --variant-node-arg ARG (the same with a node option, e.g. --single-threaded-gc)
//          --variant-main PATH (the same with another build of rating, e.g. a baseline checkout's
//          services/rating/dist/src/main.js: code A/B under the same load)
//          --node-arg ARG (e.g. --cpu-prof, or --require of an allocation-sampling preload)
//          --keep (leave topic, schema, db)
// Needs the local stack (npm run stack -- --infra): Kafka 127.0.0.1:9092, PostgreSQL, InfluxDB.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import {
  TICKS_PER_S,
  allProcesses,
  cpuTicks,
  machineBusySeconds,
  statusKb,
  threadCpuSeconds,
} from '@metering/testing';
import {
  BROKERS,
  DATABASE_URL,
  INFLUX_URL,
  deployedRuntime,
  envPairs,
  freePort,
  spawnRating,
} from './rating-process.mjs';
import { fleetSamples } from './sample-stream.mjs';
import {
  LEDGER_ROW_TABLES,
  LockWaitSampler,
  ledgerRowCounts,
  ledgerRowSizes,
} from './ledger-watch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opts } = parseArgs({
  options: {
    samples: { type: 'string', default: '1000000' },
    resources: { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '50' },
    partitions: { type: 'string', default: '6' },
    instances: { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    'variant-env': { type: 'string', multiple: true, default: [] },
    'variant-node-arg': { type: 'string', multiple: true, default: [] },
    'variant-main': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    'noop-consumer': { type: 'string' }, // internal: run (b) in a child process
    decode: { type: 'boolean', default: false }, // internal: (b) that also decodes each sample
  },
});

if (opts['noop-consumer'] !== undefined) {
  await noopConsumer(opts['noop-consumer'], Number(opts.samples), opts.decode);
  process.exit(0);
}

const N = Number(opts.samples);
const RESOURCES = Number(opts.resources);
const TENANTS = Number(opts.tenants);
const PARTITIONS = Number(opts.partitions);
const INSTANCES = Number(opts.instances);
if (!(Number.isInteger(INSTANCES) && INSTANCES >= 1 && INSTANCES <= PARTITIONS)) {
  throw new Error(`--instances must be 1 to ${PARTITIONS} (one partition each at least)`);
}
const name = `bench_${Date.now().toString(36)}`;
const topic = `${name}.samples`;
/** (c) with one instance, then (with --instances N > 1) with N: each its own ledger and topics. */
const runNames = INSTANCES > 1 ? [name, `${name}_x${INSTANCES}`] : [name];
// --variant-env: one more one-instance run with those settings, for an A/B in the same run.
const variantArgs = [
  ...opts['variant-env'],
  ...opts['variant-node-arg'],
  ...(opts['variant-main'] === undefined ? [] : [opts['variant-main']]),
];
if (variantArgs.length > 0) runNames.push(`${name}_v`);
const kafka = new kafkajs.Kafka({
  clientId: 'rating-bench',
  brokers: BROKERS,
  logLevel: kafkajs.logLevel.NOTHING,
});
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const admin = kafka.admin();
await admin.connect();
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
/** The rating processes of (c): one consumer group. */
let ratings = [];
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const rating of ratings) if (rating.exitCode === null) rating.kill('SIGKILL');
  if (!opts.keep) {
    const existing = new Set(await admin.listTopics().catch(() => []));
    await admin
      .deleteTopics({
        topics: [topic, ...runNames.flatMap((n) => [`${n}.usage`, `${n}.dlq`])].filter((t) =>
          existing.has(t),
        ),
      })
      .catch((e) => log('topics:', e.message));
    for (const n of runNames) {
      await db
        .query(`DROP SCHEMA IF EXISTS "${n}" CASCADE`)
        .catch((e) => log('schema:', e.message));
      await influx(`DROP DATABASE "${n}"`, n).catch((e) => log('influx:', e.message));
    }
    log(`deleted topics, schemas and InfluxDB databases ${runNames.join(', ')}`);
  }
}
// Interrupted or stuck: still delete what the run created.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}
const watchdog = setTimeout(() => {
  log('the run took more than 45 min; giving up');
  void cleanUp().finally(() => process.exit(1));
}, 45 * 60_000);
watchdog.unref();
try {
  log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${(await import('node:os')).cpus().length} cores`,
  );
  await admin.createTopics({
    // The usage and DLQ topics are created by the rating service itself, as in production.
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  for (const n of runNames) await prepareLedger(n);
  log(`ledger schema ${runNames.join(', ')} ready; producing ${fmt(N)} samples with kcat`);

  // Produce with kcat (fast, not measured).
  let t = Date.now();
  const produced = await produceSamples();
  const end = await admin.fetchTopicOffsets(topic);
  const onTopic = end.reduce((s, p) => s + Number(p.high), 0);
  if (onTopic !== N) throw new Error(`${onTopic} messages on the topic, expected ${N}`);
  log(
    `produced ${fmt(produced.count)} samples (${(produced.bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );

  // (a) kcat, raw.
  t = performance.now();
  const lines = await run('sh', [
    '-c',
    `kcat -C -b ${BROKERS[0]} -t ${topic} -e -q -o beginning | wc -l`,
  ]);
  const aSeconds = (performance.now() - t) / 1000;
  if (Number(lines.trim()) !== N) throw new Error(`kcat read ${lines.trim()} messages`);
  const a = N / aSeconds;
  log(`(a) kcat: ${fmt(N)} in ${aSeconds.toFixed(2)} s`);

  // (b) a no-op kafkajs consumer, in its own process.
  const consume = async (...extra) =>
    JSON.parse(
      await run(process.execPath, [
        fileURLToPath(import.meta.url),
        '--noop-consumer',
        topic,
        ...extra,
        '--samples',
        String(N),
      ]),
    );
  const bOut = await consume();
  const b = N / bOut.seconds;
  log(
    `(b) kafkajs no-op: ${fmt(N)} in ${bOut.seconds.toFixed(2)} s (first batch after ${bOut.joinSeconds.toFixed(2)} s)`,
  );
  // (b') the same consumer decoding every sample as rating does (not a target, a reference: the
  // cost of reading the input before any rating).
  const dOut = await consume('--decode');
  const d = N / dOut.seconds;
  log(`(b') kafkajs + decoding: ${fmt(N)} in ${dOut.seconds.toFixed(2)} s`);

  // (c) the rating service until the ledger has caught up: one instance, then (--instances N)
  // N instances on the same samples with a fresh ledger.
  const spread = INSTANCES > 1 ? await tenantSpread() : null;
  const cs = [];
  for (const [i, runName] of runNames.entries()) {
    const variant = runName.endsWith('_v');
    const instances = i === 0 || variant ? 1 : INSTANCES;
    log(`(c) starting the rating service (${instances} process${instances > 1 ? 'es' : ''})`);
    const c = variant
      ? await rateAll(
          1,
          runName,
          envPairs(opts['variant-env']),
          opts['variant-node-arg'],
          opts['variant-main'],
        )
      : await rateAll(instances, runName, {}, []);
    c.label = variant ? `(c') with ${variantArgs.join(' ')}` : null;
    const usageEnd = await admin.fetchTopicOffsets(`${runName}.usage`).catch(() => []);
    c.events = usageEnd.reduce((s, p) => s + Number(p.high), 0);
    c.influxPoints = await influxCount(runName);
    cs.push(c);
  }
  const c = cs[0];
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  const runLines = (r, label) => {
    const rows = LEDGER_ROW_TABLES.reduce((s, t) => s + (r.rows[t] ?? 0), 0);
    const allRows = Object.values(r.rows).reduce((s, x) => s + x, 0);
    return `  ${label.padEnd(27)}${fmt(r.rate).padStart(9)} samples/s  (ledger caught up ${r.seconds.toFixed(1)} s after the first commit; ${r.totalSeconds.toFixed(1)} s with start-up)
    c/b' ${pct(r.rate / d)} (target ≥ 50 %: ${r.rate >= 0.5 * d ? 'PASS' : 'FAIL'})   c/b ${pct(r.rate / b)}   c/a ${pct(r.rate / a)}
    rating CPU ${r.cpuSeconds.toFixed(1)} s = ${((r.cpuSeconds * 1e6) / N).toFixed(1)} µs/sample${r.perInstance.length > 1 ? ` (per instance ${r.perInstance.map((x) => `${x.toFixed(1)} s`).join(', ')})` : ''}; peak RSS (VmHWM) ${r.vmHwmKb.map((kb) => `${(kb / 1024).toFixed(0)} MB`).join(', ')} (target < 300 MB: ${Math.max(...r.vmHwmKb) < 300 * 1024 ? 'PASS' : 'FAIL'})
    rating CPU by thread (s): ${r.threads.join('; ')}
    machine during (c): ${r.machine.busy.toFixed(1)} of ${r.machineSeconds.toFixed(1)} core-s busy; rating ${r.cpuSeconds.toFixed(1)}, ${['postgres', 'influxd', 'kafka (java)'].map((k) => `${k} ${r.machine[k].toFixed(1)}`).join(', ')}
    ledger rows written (inserted + updated, pg_stat_user_tables) ${LEDGER_ROW_TABLES.map((t) => `${t} ${fmt(r.rows[t] ?? 0)}`).join(', ')}: ${fmt(rows / r.seconds)} rows/s against ${fmt(r.rate)} samples/s (${(rows / N).toFixed(3)} rows per sample; all tables ${fmt(allRows)})
    ledger size: ${LEDGER_ROW_TABLES.map((t) => `${t} ${fmt(r.sizes[t].rows)} rows, ${fmt(r.sizes[t].bytesPerRow)} bytes a row on disk with its indexes and dead versions, ${fmt(r.sizes[t].tupleBytes)} bytes a live row`).join('; ')}
    lock waits (pg_stat_activity sampled every 20 ms, ${r.locks.samples} samples, ${r.locks.connections} rating connections): on locks another rating process held ${r.locks.otherSeconds.toFixed(2)} s, on its own other batch's ${r.locks.sameSeconds.toFixed(2)} s (summed over connections, of ${r.seconds.toFixed(1)} s)${r.locks.statements.map((x) => `\n      ${x.seconds.toFixed(2)} s in "${x.statement}…"`).join('')}
    usage events published ${fmt(r.events)}, InfluxDB usage points ${fmt(r.influxPoints.usage)}, resource points ${fmt(r.influxPoints.resource)}`;
  };
  console.log(`
rating throughput, ${fmt(N)} samples (${RESOURCES} resources, ${TENANTS} tenants, ${PARTITIONS} partitions)
  (a) kcat raw consume         ${fmt(a).padStart(9)} samples/s
  (b) kafkajs no-op consumer   ${fmt(b).padStart(9)} samples/s
  (b') kafkajs + decoding      ${fmt(d).padStart(9)} samples/s  (rating's decoder only: the reference of c/b')
${runLines(c, '(c) rating service')}${
    INSTANCES > 1
      ? `
${runLines(cs[1], `(c×${INSTANCES}) ${INSTANCES} instances`)}
  scale-out: ${INSTANCES} instances ${fmt(cs[1].rate)} samples/s against 1 instance ${fmt(c.rate)} (×${(cs[1].rate / c.rate).toFixed(2)}); CPU per sample ${((cs[1].cpuSeconds * 1e6) / N).toFixed(1)} µs against ${((c.cpuSeconds * 1e6) / N).toFixed(1)} µs (×${(cs[1].cpuSeconds / c.cpuSeconds).toFixed(2)}); ${spread}`
      : ''
  }${cs
    .filter((r) => r.label !== null)
    .map(
      (r) => `
${runLines(r, r.label)}
  variant against (c): ${fmt(r.rate)} samples/s against ${fmt(c.rate)} (×${(r.rate / c.rate).toFixed(2)}); CPU per sample ×${(r.cpuSeconds / c.cpuSeconds).toFixed(2)}`,
    )
    .join('')}
  load average ${load()}`);
} finally {
  await cleanUp();
  await admin.disconnect();
  await db.end();
}

/** Schema with 50 registered tenants in three zones, each on a tiered plan (two bases). */
async function prepareLedger(schema) {
  // migrateLedger holds an advisory lock on one connection while migrating on another.
  const ds = createLedgerDataSource({ url: DATABASE_URL, schema, poolSize: 2 });
  await ds.initialize();
  await migrateLedger(ds);
  const zones = ['UTC', 'Asia/Kolkata', 'America/New_York'];
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers) VALUES
     ('std', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb), ('mem', 1, 'EUR', 'max', NULL, $2::jsonb)`,
    [
      JSON.stringify([
        { upTo: '100', unitPrice: '0.040' },
        { upTo: '1000', unitPrice: '0.035' },
        { upTo: null, unitPrice: '0.030' },
      ]),
      JSON.stringify([
        { upTo: '500', unitPrice: '0.0050' },
        { upTo: null, unitPrice: '0.0040' },
      ]),
    ],
  );
  for (let i = 0; i < TENANTS; i++) {
    await ds.query(
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, $2, 'EUR')`,
      [`tenant-${i}`, zones[i % zones.length]],
    );
    await ds.query(
      `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version) VALUES ($1, '2026-01-01', $2, 1)`,
      [`tenant-${i}`, i % 5 === 4 ? 'mem' : 'std'],
    );
  }
  await ds.destroy();
}

/** The fleet's samples (bench/sample-stream.mjs) streamed into kcat. */
async function produceSamples() {
  const kcat = spawn('kcat', ['-P', '-b', BROKERS[0], '-t', topic, '-K', '\t', '-z', 'none'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve, reject) =>
    kcat.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}`)),
    ),
  );
  let count = 0;
  let bytes = 0;
  let chunk = [];
  for (const { key, value } of fleetSamples({
    samples: N,
    resources: RESOURCES,
    tenants: TENANTS,
  })) {
    chunk.push(`${key}\t${value}\n`);
    bytes += value.length;
    count += 1;
    if (chunk.length >= 5_000) {
      if (!kcat.stdin.write(chunk.join('')))
        await new Promise((res) => kcat.stdin.once('drain', res));
      chunk = [];
    }
  }
  kcat.stdin.end(chunk.join(''));
  await exited;
  return { count, bytes };
}

async function noopConsumer(fromTopic, total, decode) {
  const { decodeSampleFast } = await import(
    join(root, 'services/rating/dist/src/consuming/sample.decoder.js')
  );
  const { toMeteredSample } = await import(
    join(root, 'services/rating/dist/src/consuming/sample.mapper.js')
  );
  let decoded = 0;
  const client = new kafkajs.Kafka({
    clientId: 'noop',
    brokers: BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const consumer = client.consumer({
    groupId: `${fromTopic}-${decode ? 'decode' : 'noop'}`,
    maxBytesPerPartition: 4_194_304,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: fromTopic, fromBeginning: true });
  const t0 = performance.now();
  let first = 0;
  let n = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      if (decode) {
        for (const m of batch.messages) {
          const r = decodeSampleFast(m.value);
          if (r.ok && toMeteredSample(r.value).cpuUsageNs >= 0n) decoded += 1;
        }
      }
      n += batch.messages.length;
      if (n >= total) done();
    },
  });
  await finished;
  const t1 = performance.now();
  await consumer.disconnect();
  if (decode && decoded !== total) throw new Error(`decoded ${decoded} of ${total} samples`);
  console.log(JSON.stringify({ seconds: (t1 - t0) / 1000, joinSeconds: (first - t0) / 1000 }));
}

async function rateAll(instances, runName, variantEnv, variantNodeArgs, main) {
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  const runtime = deployedRuntime();
  log(`(c) rating runtime settings ${JSON.stringify(runtime)}`);
  const machineBefore = machineCpu();
  const t0 = performance.now();
  ratings = ports.map((port) =>
    spawnRating({
      name: runName,
      topic,
      port,
      nodeArgs: [...opts['node-arg'], ...variantNodeArgs],
      ...(main === undefined ? {} : { main }),
      env: {
        USAGE_TOPIC_PARTITIONS: String(PARTITIONS),
        SAMPLES_TOPIC_PARTITIONS: String(PARTITIONS),
        ...envPairs(opts.env),
        ...variantEnv,
      },
    }),
  );
  log(`(c) rating pid ${ratings.map((r) => r.pid).join(', ')}`);
  // Lock waits, sampled on a connection of its own.
  const watcher = new pg.Client({ connectionString: DATABASE_URL });
  await watcher.connect();
  const locks = new LockWaitSampler(watcher, () => ratings.map((r) => r.pid));
  locks.start();
  let firstCommit = 0;
  for (;;) {
    await sleep(100);
    for (const rating of ratings) {
      if (rating.exitCode !== null || rating.signalCode !== null) {
        throw new Error(`rating exited (${rating.exitCode ?? rating.signalCode})`);
      }
    }
    if (performance.now() - t0 > 30 * 60_000)
      throw new Error('rating did not catch up within 30 min');
    const r = await db
      .query(
        `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${runName}".consumer_offset WHERE next_offset > 0`,
      )
      .catch(() => ({ rows: [{ n: 0 }] }));
    const done = Number(r.rows[0].n);
    if (done > 0 && firstCommit === 0) firstCommit = performance.now();
    if (done >= N) break;
  }
  const t1 = performance.now();
  const machineAfter = machineCpu();
  const lockWaits = await locks.stop();
  await watcher.end();
  const vmHwmKb = [];
  const perInstance = [];
  const threads = [];
  let cpuSeconds = 0;
  for (const [i, rating] of ratings.entries()) {
    vmHwmKb.push(statusKb(rating.pid, 'VmHWM'));
    perInstance.push(cpuTicks(rating.pid) / TICKS_PER_S);
    cpuSeconds += perInstance.at(-1);
    threads.push(threadCpu(rating.pid));
    const metricsText = await (
      await fetch(`http://127.0.0.1:${ports[i]}/metrics`)
    )
      .text()
      .catch(() => '');
    const gauge = (n) =>
      Number(new RegExp(`^${n}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(metricsText)?.[1] ?? NaN);
    const who = instances > 1 ? `rating ${i + 1}` : 'rating';
    log(
      `${who} memory at the end: heap used ${(gauge('nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(0)} MB of ` +
        `${(gauge('nodejs_heap_size_total_bytes') / 2 ** 20).toFixed(0)} MB, external ${(gauge('nodejs_external_memory_bytes') / 2 ** 20).toFixed(0)} MB, ` +
        `InfluxDB buffer ${gauge('rating_influx_buffered_points')} points, GC ${gauge('nodejs_gc_duration_seconds_sum')} s`,
    );
    const phases = [
      ...metricsText.matchAll(/^rating_batch_phase_seconds_sum\{[^}]*phase="(\w+)"[^}]*\} (\S+)/gm),
    ];
    const batches = /^rating_batches_total(?:\{[^}]*\})? (\S+)/m.exec(metricsText)?.[1];
    log(
      `${who}: ${batches} batches; time per phase (s, summed over batches): ${phases.map((m) => `${m[1]} ${Number(m[2]).toFixed(1)}`).join(', ')}`,
    );
  }
  // Let the InfluxDB sinks finish (they run after the commits), then stop cleanly.
  await sleep(2_000);
  await Promise.all(
    ratings.map((rating) => {
      const exited = new Promise((resolve) => rating.once('exit', resolve));
      rating.kill('SIGTERM');
      return exited;
    }),
  );
  // The backends report their row counts when they exit (at most a second later).
  await sleep(1_500);
  const rows = await ledgerRowCounts(db, runName);
  const sizes = await ledgerRowSizes(db, runName);
  return {
    rows,
    sizes,
    locks: lockWaits,
    perInstance,
    threads,
    rate: N / ((t1 - firstCommit) / 1000),
    seconds: (t1 - firstCommit) / 1000,
    totalSeconds: (t1 - t0) / 1000,
    vmHwmKb,
    cpuSeconds,
    machine: Object.fromEntries(
      Object.entries(machineAfter).map(([k, v]) => [k, v - (machineBefore[k] ?? 0)]),
    ),
    machineSeconds: ((t1 - t0) / 1000) * (await import('node:os')).cpus().length,
  };
}

/** A process's CPU seconds so far: its main thread, and the others (V8, libuv, workers). */
function threadCpu(pid) {
  const { main, others } = threadCpuSeconds(pid);
  others.sort((a, b) => b - a);
  const sum = others.reduce((s, x) => s + x, 0);
  return `main ${main.toFixed(1)}, ${others.length} others ${sum.toFixed(1)} (the busiest ${others
    .slice(0, 4)
    .map((x) => x.toFixed(1))
    .join(', ')})`;
}

/**
 * CPU seconds used so far by the other parts on this machine, by process name (own time plus
 * that of exited children: PostgreSQL's backends), and the machine's total busy time.
 */
function machineCpu() {
  const out = { postgres: 0, influxd: 0, 'kafka (java)': 0 };
  const names = { postgres: 'postgres', influxd: 'influxd', java: 'kafka (java)' };
  for (const { stat } of allProcesses()) {
    const key = names[stat.comm];
    if (key === undefined) continue;
    out[key] += (stat.utime + stat.stime + stat.cutime + stat.cstime) / TICKS_PER_S;
  }
  out.busy = machineBusySeconds();
  return out;
}

async function influx(q, database) {
  const res = await fetch(`${INFLUX_URL}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q, db: database }),
  });
  return res.json();
}

async function influxCount(database) {
  const count = async (m) => {
    const json = await influx(`SELECT count(cpu_core_seconds) FROM "${m}"`, database).catch(
      () => ({}),
    );
    return json.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
  };
  const res = await influx('SELECT count(memory_bytes) FROM "resource"', database).catch(
    () => ({}),
  );
  return {
    usage: await count('usage'),
    resource: res.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0,
  };
}

/**
 * On how many partitions each tenant has resources (read back with kcat: the producer's
 * partitioner decided): the scale-out run needs a tenant on every partition.
 */
async function tenantSpread() {
  const out = await run('sh', [
    '-c',
    `kcat -C -b ${BROKERS[0]} -t ${topic} -e -q -o beginning -f '%p %k\\n' | sort -u`,
  ]);
  const partitionsOf = new Map();
  for (const line of out.split('\n')) {
    const [p, key] = line.split(' ');
    if (key === undefined) continue;
    // sample-stream.mjs: resource r is "ctr-<hex r>" or "vm-<hex r>", of tenant r % tenants.
    const tenant = parseInt(key.slice(key.indexOf('-') + 1), 16) % TENANTS;
    if (!partitionsOf.has(tenant)) partitionsOf.set(tenant, new Set());
    partitionsOf.get(tenant).add(p);
  }
  const counts = [...partitionsOf.values()].map((s) => s.size);
  const everywhere = counts.filter((n) => n === PARTITIONS).length;
  return `${everywhere} of ${partitionsOf.size} tenants own resources on every one of the ${PARTITIONS} partitions (the fewest: ${Math.min(...counts)})`;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}
