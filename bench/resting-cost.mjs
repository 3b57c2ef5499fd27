// What each service costs as a whole process with nothing to do (issue 18): the compiled
// services started as the local stack runs them (production defaults, not the tests' fast
// flushes), on their own free ports, topics, ledger schema, InfluxDB database and spool
// (libs/pipeline-harness), with nothing to meter. After a settling time it reads, over each
// window, every process's CPU time (utime+stime of /proc/<pid>/stat, all threads) and its
// threads' context switches (/proc/<pid>/task/*/status: each is a thread going to sleep or being
// woken — the wake-ups a process at rest should not have), repeated; then rating's latency for
// the first sample after the idle windows (produced → offset committed in the ledger).
// Prints the table with PASS/FAIL against the targets (≤ 0.2 % of a core at rest) and the load
// average, since the machine is shared.
//
//   node bench/resting-cost.mjs [--window 30] [--repeats 3] [--settle 30]
//                              [--services rating,docker-collector,vm-collector,billing-api]
//                              [--prof DIR]   (V8's tick profile of each service in DIR/<service>/;
//                                              node --prof-process reads it)
// Needs the infrastructure of the local stack (npm run stack -- --infra) and a build.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { procDelta, procSample } from '@metering/testing';
import { stackRuntime } from './lib/stack-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { ServicePipeline } = require(join(root, 'libs/pipeline-harness/dist/src/index.js'));
const { encodeSample, sampleIdOf, SCHEMA_VERSIONS } = require(
  join(root, 'libs/contracts/dist/src/index.js'),
);
const { Kafka, logLevel } = require('kafkajs');

const { values: opts } = parseArgs({
  options: {
    window: { type: 'string', default: '30' },
    repeats: { type: 'string', default: '3' },
    settle: { type: 'string', default: '30' },
    services: { type: 'string', default: 'rating,docker-collector,vm-collector,billing-api' },
    prof: { type: 'string' },
  },
});
const WINDOW_S = Number(opts.window);
const REPEATS = Number(opts.repeats);
const SETTLE_S = Number(opts.settle);
const SERVICES = opts.services.split(',');
/** Whole process, share of one core. */
const TARGET_CPU_PERCENT = 0.2;

/**
 * --prof DIR: V8's sampling profiler, written as the process runs (a --cpu-prof profile is written
 * at exit, and the services end by re-raising SIGTERM, which skips it). Its sampler thread wakes
 * the process ~1,000 times a second: the figures of a profiled run are not the resting cost.
 */
function withProfile(pipeline, name) {
  if (opts.prof === undefined) return;
  const dir = resolve(opts.prof, name);
  mkdirSync(dir, { recursive: true });
  pipeline.nodeArgs = ['--prof', `--logfile=${join(dir, 'v8.log')}`];
}

function range(values, digits) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One fresh, valid sample of a container nobody runs, observed now. */
function freshSample(i) {
  const id = `bench${String(i).padStart(59, '0')}`;
  const startedAt = new Date(Date.now() - 60_000).toISOString();
  const observedAt = new Date().toISOString();
  const instanceId = `${id.slice(0, 12)}@${startedAt}`;
  return {
    schema: SCHEMA_VERSIONS.sample,
    sampleId: sampleIdOf({
      source: 'docker',
      host: 'bench',
      resourceId: id,
      instanceId,
      observedAt,
    }),
    source: 'docker',
    host: 'bench',
    resource: { kind: 'container', id, name: 'bench', tenantId: 'bench', instanceId, startedAt },
    observedAt,
    lifecycle: 'running',
    cpu: { usageNs: '1000000000', allocationCores: 0.5 },
    memory: { usageBytes: 1048576, allocationBytes: 67108864 },
  };
}

/** Produced → rating has committed the offset past it (ms). */
async function firstSampleLatency(pipeline, i) {
  const kafka = new Kafka({ brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const s = freshSample(i);
    const started = performance.now();
    await producer.send({
      topic: pipeline.topic,
      messages: [{ key: s.resource.id, value: encodeSample(s) }],
    });
    const ends = await pipeline.sampleTopicEnds();
    while (!(await pipeline.ratedUpTo(ends))) {
      if (performance.now() - started > 60_000) return Number.NaN;
      await sleep(10);
    }
    return performance.now() - started;
  } finally {
    await producer.disconnect();
  }
}

const pipeline = new ServicePipeline('resting');
try {
  await pipeline.prepare();
  // billing-api first: it migrates the ledger schema rating writes to.
  if (SERVICES.includes('billing-api') || SERVICES.includes('rating')) {
    withProfile(pipeline, 'billing-api');
    await pipeline.startBillingApi({ LOG_LEVEL: 'warn' });
  }
  if (SERVICES.includes('rating')) {
    withProfile(pipeline, 'rating');
    // Production defaults, not the harness's fast test flushes.
    await pipeline.startRating({
      ...stackRuntime('rating'),
      LOG_LEVEL: 'warn',
      INFLUX_FLUSH_INTERVAL_MS: '1000',
      TENANT_CATALOG_TTL_MS: '30000',
      KAFKA_SESSION_TIMEOUT_MS: '30000',
      DATABASE_POOL_SIZE: '10',
    });
  }
  if (SERVICES.includes('docker-collector')) {
    withProfile(pipeline, 'docker-collector');
    await pipeline.startDockerCollector({ ...stackRuntime('docker-collector'), LOG_LEVEL: 'warn' });
  }
  if (SERVICES.includes('vm-collector')) {
    withProfile(pipeline, 'vm-collector');
    await pipeline.startVmCollector({ ...stackRuntime('vm-collector'), LOG_LEVEL: 'warn' });
  }
  const measured = SERVICES.filter((s) => pipeline.pid(s) !== undefined);
  console.log(
    `# resting cost: ${measured.join(', ')}; settle ${SETTLE_S} s, ${REPEATS} × ${WINDOW_S} s windows`,
  );
  await sleep(SETTLE_S * 1000);

  const cpu = Object.fromEntries(measured.map((s) => [s, []]));
  const wakeups = Object.fromEntries(measured.map((s) => [s, []]));
  const loads = [];
  for (let r = 0; r < REPEATS; r += 1) {
    const before = Object.fromEntries(measured.map((s) => [s, procSample(pipeline.pid(s))]));
    await sleep(WINDOW_S * 1000);
    for (const s of measured) {
      const d = procDelta(before[s], procSample(pipeline.pid(s)));
      cpu[s].push(d.cpuPercent);
      wakeups[s].push(d.switchesPerS);
    }
    loads.push(loadavg()[0]);
  }

  let latency = '';
  if (measured.includes('rating')) {
    const first = await firstSampleLatency(pipeline, 1);
    await sleep(1000);
    const second = await firstSampleLatency(pipeline, 2);
    latency = `rating: first sample after ${REPEATS * WINDOW_S + SETTLE_S} s idle committed in ${first.toFixed(0)} ms (the next one, 1 s later: ${second.toFixed(0)} ms)`;
  }

  console.log(`| service | CPU at rest, % of a core | context switches/s | target | verdict |`);
  console.log(`|---|---|---|---|---|`);
  let failed = false;
  for (const s of measured) {
    const pass = Math.max(...cpu[s]) <= TARGET_CPU_PERCENT;
    failed ||= !pass;
    console.log(
      `| ${s} | ${range(cpu[s], 2)} | ${range(wakeups[s], 1)} | ≤ ${TARGET_CPU_PERCENT} % | ${pass ? 'PASS' : 'FAIL'} |`,
    );
  }
  for (const s of measured) {
    const each = cpu[s].map((v, i) => `${v.toFixed(2)} %/${wakeups[s][i].toFixed(1)}`);
    console.log(`# ${s}, each window (CPU/context switches per s): ${each.join(', ')}`);
  }
  console.log(
    `load average (1 min) during the windows: ${range(loads, 1)} on ${readCores()} cores`,
  );
  if (latency) console.log(latency);
  process.exitCode = failed ? 1 : 0;
} finally {
  await pipeline.stop();
}

function readCores() {
  return readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? '?';
}
