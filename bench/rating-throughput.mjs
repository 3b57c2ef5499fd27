#!/usr/bin/env node
// Throughput of the rating service against the raw consumers, on the local broker (a script that
// prints figures, not a test). In one run:
//   produce N realistic samples (1,000 resources, 50 tenants, 10 s apart, restarts, counter resets,
//   wandering memory, limits) to a fresh topic with 6 partitions, then measure
//   (a) kcat consuming them raw, (b) a no-op kafkajs consumer (eachBatch, count), (b') the same
//   consumer running rating's sample decoder on every message, (b'') the same with the contract's
//   decoder, as (b') was when issue 19 was filed (each reference run before the runs of rating and
//   again after them, their geometric mean), (c) the rating
//   service (a real process, own schema, group, topics and InfluxDB database) until the ledger
//   has caught up (stored offsets == end offsets), and print samples/s (each consumer's from its
//   first batch done, (c)'s from its first commit: no group join in any), c/b'' (issue 19's target,
//   against its reference as filed: ≥ 50 %, PASS/FAIL), c/b' (against rating's own decoder of the
//   day: a stricter reference, which every faster decoder raises; ADR 14, seventeenth session), c/b,
//   c/a, the rating process's peak RSS (VmHWM, < 300 MB) and CPU per
//   sample (main thread and the others: V8's GC helpers, libuv, the usage producer), where the
//   machine's CPU went during (c) (rating, PostgreSQL, InfluxDB, Kafka) and PostgreSQL's on rating's
//   own connections (bench/lib/pg-backend-cpu.mjs: the server is shared), the ledger rows written
//   (pg_stat_user_tables, usage_bucket and instance_state) per second against samples per second,
//   their bytes per row, and the time rating's transactions waited on locks (pg_stat_activity,
//   bench/ledger-watch.mjs). Everything it created is deleted at the end.
//
//   npx tsc -b services/rating && npm run bench:throughput -w @metering/rating -- --samples 1000000
//
// Options: --samples N (1,000,000) --resources N (1,000) --tenants N (50) --partitions N (6)
//          --instances N (1; more: after the one-instance run, the same samples rated again by N
//          processes in one consumer group, on a fresh ledger: the scale-out figure, with the CPU
//          per sample of both runs and the time batches waited on locks another process held; then
//          the machine's control: N deployments sharing nothing, each its own topic (1/N of the
//          resources and tenants, 1/N of the partitions), ledger and group, rated at once: what
//          running N processes on this machine costs without anything of the design shared)
//          --env KEY=VALUE (extra rating settings, repeatable) --variant-env KEY=VALUE (one more
//          one-instance run with these settings on top, printed beside the first: an A/B)
//          --variant-node-arg ARG (the same with a node option, e.g. --single-threaded-gc)
//          --variant-main PATH (the same with another build of rating, e.g. a baseline checkout's
//          services/rating/dist/src/main.js: code A/B under the same load; its ledger schema is
//          migrated by that checkout's libs/ledger, so an older build gets its own)
//          --pairs N (1; with a variant: N pairs of (c) and (c'), the first in the order (c), (c'),
//          then alternating ((c'), (c), ...), each run its own ledger and group on the same
//          samples, and the variant against (c) per pair and as the pairs' geometric mean: this
//          machine's speed drifts within minutes and the second run of a pair is the slower one,
//          so a single pair measures the order as much as the variant)
//          --node-arg ARG (e.g. --trace-gc; --node-arg=--require=bench/lib/alloc-profile.cjs with
//          --env ALLOC_PROFILE_DIR=DIR: every allocation sampled, bench/alloc-profile-summary.mjs)
//          --cpu-prof DIR (the rating processes' V8 CPU profiles, written into DIR when they stop;
//          bench/cpu-profile-summary.mjs aggregates them by function and package)
//          --gc (each rating process traced with --trace-gc-nvp: its main isolate's scavenges,
//          bytes survived and promoted, full collections and marking time, per run: figures that
//          vary far less between runs than samples/s, bench/lib/gc-trace.mjs)
//          --host-auth (as in production, ADR 0010: every sample signed by its host, produced by a
//          kafkajs producer since kcat cannot give each message its own header; rating given the
//          master key in HOST_AUTH_KEYS_FILE, and (b') checks each MAC too)
//          --rounds N (1; more: (c) N times, each on a fresh ledger and group, with (b') and (b'')
//          before each and after the last; each round's c/b'' and c/b' against the references on
//          both sides of it, and their medians, the verdict: one ratio moves with this machine's
//          drift)
//          --keep (leave topic, schema, db)
// Needs the local stack (npm run stack -- --infra): Kafka 127.0.0.1:9092, PostgreSQL, InfluxDB.
// The parts, in bench/lib/: throughput-references.mjs (the samples, kcat and the no-op consumers),
// throughput-rating.mjs (rating until the ledger caught up, watched), throughput-ledger.mjs (the
// ledger schemas and InfluxDB databases), throughput-report.mjs (what it prints).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { BROKERS, DATABASE_URL, envPairs } from './rating-process.mjs';
import { influx, influxCount, prepareLedger } from './lib/throughput-ledger.mjs';
import { rateAll } from './lib/throughput-rating.mjs';
import {
  kcatRead,
  noopConsumer,
  produceSamples,
  run,
  tenantSpread,
} from './lib/throughput-references.mjs';
import { fmt, log, printSummary } from './lib/throughput-report.mjs';

const { values: opts } = parseArgs({
  options: {
    samples: { type: 'string', default: '1000000' },
    resources: { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '50' },
    partitions: { type: 'string', default: '6' },
    instances: { type: 'string', default: '1' },
    pairs: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    'variant-env': { type: 'string', multiple: true, default: [] },
    'variant-node-arg': { type: 'string', multiple: true, default: [] },
    'variant-main': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'string' },
    gc: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'host-auth': { type: 'boolean', default: false },
    'host-keys': { type: 'string' }, // internal: (b') checks MACs with these master keys
    'noop-consumer': { type: 'string' }, // internal: run (b) in a child process
    // internal: what (b) decodes: 'none', 'rating' ((b'), rating's decoder), 'contract' ((b''))
    decoder: { type: 'string', default: 'none' },
  },
});

if (opts['noop-consumer'] !== undefined) {
  await noopConsumer(
    opts['noop-consumer'],
    Number(opts.samples),
    opts.decoder,
    opts['host-keys'] ?? null,
  );
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
/**
 * (c) with one instance, then (with --instances N > 1) with N in one group, then N deployments
 * sharing nothing (the machine's control: each its own topic with 1/N of the fleet): each run its
 * own ledger and topics.
 */
const controls = INSTANCES > 1 ? Array.from({ length: INSTANCES }, (_, k) => `${name}_s${k}`) : [];
const runNames = INSTANCES > 1 ? [name, `${name}_x${INSTANCES}`, ...controls] : [name];
// --variant-env: one more one-instance run with those settings, for an A/B in the same run.
const variantEnv = envPairs(opts['variant-env']);
const variantArgs = [
  ...opts['variant-env'],
  ...opts['variant-node-arg'],
  ...(opts['variant-main'] === undefined ? [] : [opts['variant-main']]),
];
const PAIRS = Number(opts.pairs);
if (!(Number.isInteger(PAIRS) && PAIRS >= 1 && PAIRS <= 10)) {
  throw new Error('--pairs must be 1 to 10');
}
if (PAIRS > 1 && variantArgs.length === 0) throw new Error('--pairs needs a variant');
// The variant's runs (ledgers migrated by the variant's checkout), and the later pairs' runs.
const variantName = (pair) => (pair === 0 ? `${name}_v` : `${name}_v${pair}`);
const variantNames = new Set();
if (variantArgs.length > 0) {
  for (let i = 0; i < PAIRS; i++) {
    variantNames.add(variantName(i));
    if (i > 0) runNames.push(`${name}_c${i}`);
  }
  runNames.push(...variantNames);
}
// --rounds N: (c) N times on fresh ledgers, (b') and (b'') before each and after the last, and
// c/b'' and c/b' of each round against the references on both sides of it: this machine's speed
// drifts by 10-25 % within one minute, so one ratio is a draw; the rounds' median is the verdict.
const ROUNDS = Number(opts.rounds);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 10)) {
  throw new Error('--rounds must be 1 to 10');
}
if (ROUNDS > 1 && (variantArgs.length > 0 || INSTANCES > 1)) {
  throw new Error('--rounds is for one instance of this build: no variant, no --instances');
}
const roundName = (k) => `${name}_r${k}`;
for (let k = 1; k < ROUNDS; k++) runNames.push(roundName(k));
// --host-auth: a master key of the run's own, in a file only this user reads (deleted at the end).
const keysDir = opts['host-auth'] ? mkdtempSync(join(tmpdir(), 'rating-bench-keys-')) : null;
const keysFile = keysDir === null ? null : join(keysDir, 'host-auth-masters');
if (keysFile !== null) {
  writeFileSync(keysFile, `k1 ${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
}
const kafka = new kafkajs.Kafka({
  clientId: 'rating-bench',
  brokers: BROKERS,
  logLevel: kafkajs.logLevel.NOTHING,
});

const admin = kafka.admin();
await admin.connect();
const db = new pg.Client({ connectionString: DATABASE_URL });
await db.connect();
/** The run, as (c) needs it; `ratings`: its rating processes while they run. */
const bench = {
  nodeArgs: [
    ...opts['node-arg'],
    ...(opts['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts['cpu-prof']}`]),
  ],
  env: { ...(keysFile === null ? {} : { HOST_AUTH_KEYS_FILE: keysFile }), ...envPairs(opts.env) },
  db,
  gc: opts.gc,
  ratings: [],
};
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  if (keysDir !== null) rmSync(keysDir, { recursive: true, force: true });
  for (const rating of bench.ratings) if (rating.exitCode === null) rating.kill('SIGKILL');
  if (!opts.keep) {
    const existing = new Set(await admin.listTopics().catch(() => []));
    await admin
      .deleteTopics({
        topics: [
          topic,
          ...controls.map((n) => `${n}.samples`),
          ...runNames.flatMap((n) => [`${n}.usage`, `${n}.dlq`]),
        ].filter((t) => existing.has(t)),
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
  // The control's deployments: each 1/N of the partitions (at least one).
  const controlPartitions = Math.max(1, Math.floor(PARTITIONS / Math.max(1, INSTANCES)));
  await admin.createTopics({
    // The usage and DLQ topics are created by the rating service itself, as in production.
    topics: [
      { topic, numPartitions: PARTITIONS },
      ...controls.map((n) => ({ topic: `${n}.samples`, numPartitions: controlPartitions })),
    ],
    waitForLeaders: true,
  });
  // A variant build from another checkout (…/services/rating/dist/src/main.js) migrates its ledger
  // with that checkout's library.
  const variantRoot =
    opts['variant-main'] === undefined ? undefined : join(opts['variant-main'], '../../../../..');
  for (const n of runNames) {
    await prepareLedger(n, TENANTS, variantNames.has(n) ? variantRoot : undefined);
  }
  log(`ledger schema ${runNames.join(', ')} ready; producing ${fmt(N)} samples with kcat`);

  // Produce with kcat (fast, not measured).
  const t = Date.now();
  const produced = await produceSamples(
    topic,
    { samples: N, resources: RESOURCES, tenants: TENANTS },
    undefined,
    keysFile,
  );
  const end = await admin.fetchTopicOffsets(topic);
  const onTopic = end.reduce((s, p) => s + Number(p.high), 0);
  if (onTopic !== N) throw new Error(`${onTopic} messages on the topic, expected ${N}`);
  log(
    `produced ${fmt(produced.count)} samples (${(produced.bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
  // The control's fleets: resource r to deployment r mod N (tenants apart when N divides them).
  const controlSamples = [];
  for (const [k, n] of controls.entries()) {
    const part = await produceSamples(
      `${n}.samples`,
      { samples: N, resources: RESOURCES, tenants: TENANTS },
      { of: INSTANCES, index: k },
      keysFile,
    );
    controlSamples.push(part.count);
  }
  if (controls.length > 0) {
    log(
      `produced the control's ${controls.length} fleets: ${controlSamples.map(fmt).join(' + ')} samples`,
    );
  }

  // (a) kcat, raw.
  const raw = await kcatRead(topic);
  if (raw.count !== N) throw new Error(`kcat read ${raw.text} messages`);
  const a = N / raw.seconds;
  log(`(a) kcat: ${fmt(N)} in ${raw.seconds.toFixed(2)} s`);

  // (b) a no-op kafkajs consumer, in its own process (with --host-auth, (b') checks MACs too).
  const consume = async (decoder) =>
    JSON.parse(
      await run(process.execPath, [
        fileURLToPath(import.meta.url),
        '--noop-consumer',
        topic,
        '--decoder',
        decoder,
        ...(keysFile !== null && decoder === 'rating' ? ['--host-keys', keysFile] : []),
        '--samples',
        String(N),
      ]),
    );
  // A reference's rate and CPU count from its first batch done, as (c)'s from its first commit:
  // the group's join (~0.6 s here) is in neither.
  const rateOf = (out) => out.steadySamples / out.steadySeconds;
  const bOut = await consume('none');
  const b = rateOf(bOut);
  // CPU a sample after the first batch: main thread, and the others (V8's collector helpers).
  const cpuOf = (out) =>
    `CPU after the first batch ${((out.mainCpuSeconds * 1e6) / out.steadySamples).toFixed(1)} µs/sample on the main thread, ${((out.otherCpuSeconds * 1e6) / out.steadySamples).toFixed(1)} on the others`;
  log(
    `(b) kafkajs no-op: ${fmt(N)} in ${bOut.seconds.toFixed(2)} s (first batch after ${bOut.joinSeconds.toFixed(2)} s); ${cpuOf(bOut)}`,
  );
  // (b') the same consumer decoding every sample as rating does (not a target, a reference: the
  // cost of reading the input before any rating).
  const dOut = await consume('rating');
  const dBefore = rateOf(dOut);
  log(
    `(b') kafkajs + decoding${keysFile === null ? '' : ' + MACs'}: ${fmt(N)} in ${dOut.seconds.toFixed(2)} s; ${cpuOf(dOut)}`,
  );
  // (b'') (b') as issue 19 was filed, the contract's decoder (JSON.parse, the schema's checks, the
  // mapper): the reference of issue 19's target (ADR 14, seventeenth session).
  const fOut = await consume('contract');
  const fBefore = rateOf(fOut);
  log(
    `(b'') kafkajs + the contract's decoding: ${fmt(N)} in ${fOut.seconds.toFixed(2)} s; ${cpuOf(fOut)}`,
  );

  // (c) the rating service until the ledger has caught up: one instance, then (--instances N)
  // N instances on the same samples with a fresh ledger.
  const spread = INSTANCES > 1 ? await tenantSpread(topic, TENANTS, PARTITIONS) : null;
  const cs = [];
  const whole = (runName, instances) => ({
    runName,
    topic,
    samples: N,
    partitions: PARTITIONS,
    instances,
  });
  const runs = [{ label: null, deployments: [whole(name, 1)] }];
  if (INSTANCES > 1) {
    runs.push({ label: null, deployments: [whole(`${name}_x${INSTANCES}`, INSTANCES)] });
    runs.push({
      label: null,
      control: true,
      deployments: controls.map((n, k) => ({
        runName: n,
        topic: `${n}.samples`,
        samples: controlSamples[k],
        partitions: controlPartitions,
        instances: 1,
      })),
    });
  }
  for (let k = 1; k < ROUNDS; k++) {
    runs.push({ label: null, round: k, deployments: [whole(roundName(k), 1)] });
  }
  // The (b') and (b'') before each round (the first: dBefore, fBefore), then after the last.
  const roundReferences = [dBefore];
  const roundFiled = [fBefore];
  // The pairs: (c), (c') first, then alternating; the first (c) is the one-instance run above.
  for (let i = 0; i < PAIRS && variantArgs.length > 0; i++) {
    const variant = {
      label: 'variant',
      pair: i,
      deployments: [whole(variantName(i), 1)],
    };
    const base = { label: null, pair: i, base: true, deployments: [whole(`${name}_c${i}`, 1)] };
    if (i === 0) runs.push(variant);
    else if (i % 2 === 1) runs.push(variant, base);
    else runs.push(base, variant);
  }
  for (const run of runs) {
    if (run.round !== undefined) {
      const out = await consume('rating');
      roundReferences.push(rateOf(out));
      log(
        `(b') before round ${run.round + 1}: ${fmt(N)} in ${out.seconds.toFixed(2)} s; ${cpuOf(out)}`,
      );
      const filed = await consume('contract');
      roundFiled.push(rateOf(filed));
      log(
        `(b'') before round ${run.round + 1}: ${fmt(N)} in ${filed.seconds.toFixed(2)} s; ${cpuOf(filed)}`,
      );
    }
    // Every run from the same state of the server: the WAL the runs before wrote is flushed now,
    // not by a checkpoint during this one.
    await db.query('CHECKPOINT');
    const processes = run.deployments.reduce((s, d) => s + d.instances, 0);
    log(
      `(c) starting the rating service (${processes} process${processes > 1 ? 'es' : ''}${run.control ? `, ${processes} deployments sharing nothing` : ''})`,
    );
    const c =
      run.label === 'variant'
        ? await rateAll(
            bench,
            run.deployments,
            variantEnv,
            opts['variant-node-arg'],
            opts['variant-main'],
          )
        : await rateAll(bench, run.deployments, {}, []);
    c.label = run.label === 'variant' ? `(c') with ${variantArgs.join(' ')}` : null;
    // (b') checks MACs when --host-auth is on; a run without them is not measured against it.
    c.withoutMacs =
      keysFile !== null && run.label === 'variant' && 'HOST_AUTH_KEYS_FILE' in variantEnv;
    c.control = run.control === true;
    c.pair = run.pair ?? (run === runs[0] && variantArgs.length > 0 ? 0 : null);
    c.base = run.base === true;
    c.round = run.round ?? (ROUNDS > 1 && run === runs[0] ? 0 : null);
    c.events = 0;
    c.influxPoints = { usage: 0, resource: 0 };
    for (const { runName } of run.deployments) {
      const usageEnd = await admin.fetchTopicOffsets(`${runName}.usage`).catch(() => []);
      c.events += usageEnd.reduce((s, p) => s + Number(p.high), 0);
      const points = await influxCount(runName);
      c.influxPoints.usage += points.usage;
      c.influxPoints.resource += points.resource;
      // Its figures are read: its ledger goes now, so that autovacuum does not clean up after it
      // while a later run is measured (--keep: kept, as all the rest).
      if (!opts.keep) await db.query(`DROP SCHEMA IF EXISTS "${runName}" CASCADE`);
    }
    cs.push(c);
  }
  // (b') and (b'') once more after the runs of rating: this machine's speed drifts within minutes,
  // so each reference is the geometric mean of its runs on both sides of them.
  const dAfterOut = await consume('rating');
  const dAfter = rateOf(dAfterOut);
  log(`(b') again after (c): ${fmt(N)} in ${dAfterOut.seconds.toFixed(2)} s; ${cpuOf(dAfterOut)}`);
  const fAfterOut = await consume('contract');
  const fAfter = rateOf(fAfterOut);
  log(`(b'') again after (c): ${fmt(N)} in ${fAfterOut.seconds.toFixed(2)} s; ${cpuOf(fAfterOut)}`);
  const d = Math.sqrt(dBefore * dAfter);
  const f = Math.sqrt(fBefore * fAfter);
  roundReferences.push(dAfter);
  roundFiled.push(fAfter);
  printSummary(
    { N, RESOURCES, TENANTS, PARTITIONS, INSTANCES, HOST_AUTH: keysFile !== null },
    { a, b, d, f, dBefore, dAfter, fBefore, fAfter, roundReferences, roundFiled },
    cs,
    spread,
  );
} finally {
  await cleanUp();
  await admin.disconnect();
  await db.end();
}
