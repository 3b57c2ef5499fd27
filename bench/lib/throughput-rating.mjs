// (c) of bench/rating-throughput.mjs: the rating service (one process or several in one consumer
// group) rating the samples until the ledger has caught up, watched as it runs: its CPU (by
// thread), peak RSS, where the machine's CPU went, the ledger rows written, the lock waits.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  TICKS_PER_S,
  allProcesses,
  cpuTicks,
  machineBusySeconds,
  runQueueSeconds,
  statusKb,
  threadCpuSeconds,
} from '@metering/testing';
import { LockWaitSampler, ledgerRowCounts, ledgerRowSizes } from '../ledger-watch.mjs';
import { DATABASE_URL, deployedRuntime, freePort, spawnRating } from '../rating-process.mjs';
import { GcTrace } from './gc-trace.mjs';
import { BackendCpuSampler } from './pg-backend-cpu.mjs';
import { log } from './throughput-report.mjs';

/**
 * Starts the rating processes of `deployments` ({ runName, topic, samples, partitions, instances }
 * each: a ledger schema, consumer group and topics of its own; one for (c) and (c×N), N sharing
 * nothing for the machine's control) and waits until every one has committed all its samples.
 * `bench`: { nodeArgs, env, db } of the run; the processes are in `bench.ratings` while they run
 * (to kill them if the bench is stopped).
 */
export async function rateAll(bench, deployments, variantEnv, variantNodeArgs, main) {
  const { db } = bench;
  const N = deployments.reduce((s, d) => s + d.samples, 0);
  const runtime = deployedRuntime();
  log(`(c) rating runtime settings ${JSON.stringify(runtime)}`);
  const machineBefore = machineCpu();
  const t0 = performance.now();
  const ratings = [];
  const ports = [];
  for (const d of deployments) {
    for (let i = 0; i < d.instances; i++) {
      const port = await freePort();
      ports.push(port);
      ratings.push(
        spawnRating({
          name: d.runName,
          topic: d.topic,
          port,
          nodeArgs: [
            ...bench.nodeArgs,
            ...variantNodeArgs,
            ...(bench.gc ? ['--trace-gc-nvp'] : []),
          ],
          ...(bench.gc ? { stdout: 'pipe' } : {}),
          ...(main === undefined ? {} : { main }),
          env: {
            USAGE_TOPIC_PARTITIONS: String(d.partitions),
            SAMPLES_TOPIC_PARTITIONS: String(d.partitions),
            ...bench.env,
            ...variantEnv,
          },
        }),
      );
    }
  }
  const instances = ratings.length;
  bench.ratings = ratings;
  // --gc: each process's collections, read from its trace (its other output passed on).
  const gcTraces = bench.gc ? ratings.map((r) => new GcTrace(r.stdout)) : [];
  log(`(c) rating pid ${ratings.map((r) => r.pid).join(', ')}`);
  // Lock waits, sampled inside PostgreSQL on a connection of their own (a call holds it for
  // half a second); the backends' CPU on another.
  const lockWatcher = new pg.Client({ connectionString: DATABASE_URL });
  await lockWatcher.connect();
  const watcher = new pg.Client({ connectionString: DATABASE_URL });
  await watcher.connect();
  const locks = new LockWaitSampler(lockWatcher, () => ratings.map((r) => r.pid));
  locks.start();
  // PostgreSQL's CPU on rating's connections (and the bench's own), not on the shared server's.
  const pgCpu = new BackendCpuSampler(watcher, () => ratings.map((r) => r.pid));
  pgCpu.start();
  let firstCommit = 0;
  // CPU the processes used until the first commit: start-up (modules, Nest, connections, the
  // group join), which the per-sample figure after the first commit leaves out.
  let startupCpuSeconds = 0;
  // The samples committed by then: the rate and the CPU a sample after the first commit are of
  // the others (their seconds and CPU are after it; the first commit's are not).
  let doneAtFirst = 0;
  // The main threads' CPU and the machine's busy time at the first commit: how busy each was while
  // rating (the main thread on CPU all the time: it is the bound; both short of it: waits are).
  let busyAtFirst = null;
  for (;;) {
    await sleep(100);
    for (const rating of ratings) {
      if (rating.exitCode !== null || rating.signalCode !== null) {
        throw new Error(`rating exited (${rating.exitCode ?? rating.signalCode})`);
      }
    }
    if (performance.now() - t0 > 30 * 60_000)
      throw new Error('rating did not catch up within 30 min');
    let done = 0;
    let caughtUp = true;
    for (const d of deployments) {
      const r = await db
        .query(
          `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${d.runName}".consumer_offset WHERE next_offset > 0`,
        )
        .catch(() => ({ rows: [{ n: 0 }] }));
      const n = Number(r.rows[0].n);
      done += n;
      caughtUp &&= n >= d.samples;
    }
    if (done > 0 && firstCommit === 0) {
      firstCommit = performance.now();
      doneAtFirst = done;
      startupCpuSeconds = cpuSecondsOf(ratings);
      busyAtFirst = busyNow(ratings);
    }
    if (caughtUp) break;
  }
  const t1 = performance.now();
  const cpuAtQuantities = cpuSecondsOf(ratings);
  const busyAtQuantities = busyNow(ratings);
  const ratingSeconds = (t1 - firstCommit) / 1000;
  const afterFirst = N - doneAtFirst;
  // Charges may lag quantities (the pricing stage, ADR 14): the run is done once no unpriced
  // piece is left either, so work a build defers past the offsets' catch-up still counts.
  const charges = await chargesCaughtUp(db, deployments, ratings);
  const machineAfter = machineCpu();
  const lockWaits = await locks.stop();
  const pgBackends = await pgCpu.stop();
  log(`(c) rating's PostgreSQL backends: ${pgBackends.backends.join(' ')}`);
  await watcher.end();
  await lockWatcher.end();
  const vmHwmKb = [];
  const perInstance = [];
  const threads = [];
  let cpuSeconds = 0;
  let batchCount = 0;
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
    batchCount += Number(batches ?? 0);
    log(
      `${who}: ${batches} batches; time per phase (s, summed over batches): ${phases.map((m) => `${m[1]} ${Number(m[2]).toFixed(1)}`).join(', ')}`,
    );
    // The pricing stage's passes by trigger and outcome (a build without the counter: none).
    const passes = [
      ...metricsText.matchAll(
        /^rating_pricing_passes_total\{[^}]*trigger="(\w+)"[^}]*outcome="(\w+)"[^}]*\} (\S+)/gm,
      ),
    ];
    if (passes.length > 0)
      log(`${who}: pricing passes ${passes.map((m) => `${m[1]} ${m[2]} ${m[3]}`).join(', ')}`);
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
  await Promise.all(gcTraces.map((t) => t.closed));
  const rows = {};
  const sizes = {};
  for (const d of deployments) {
    for (const [table, n] of Object.entries(await ledgerRowCounts(db, d.runName)))
      rows[table] = (rows[table] ?? 0) + n;
    // Several schemas: their rows added, the bytes a row weighted by rows.
    for (const [table, sz] of Object.entries(await ledgerRowSizes(db, d.runName))) {
      const was = sizes[table] ?? { rows: 0, bytesPerRow: 0, tupleBytes: 0 };
      const total = was.rows + sz.rows;
      const mean = (a, b) => (total === 0 ? 0 : (a * was.rows + b * sz.rows) / total);
      sizes[table] = {
        rows: total,
        bytesPerRow: mean(was.bytesPerRow, sz.bytesPerRow),
        tupleBytes: mean(was.tupleBytes, sz.tupleBytes),
      };
    }
  }
  return {
    samples: N,
    rows,
    sizes,
    locks: lockWaits,
    pgBackends,
    gc: gcTraces.map((t) => t.summary(N / instances)),
    batches: batchCount,
    perInstance,
    threads,
    samplesAfterFirst: afterFirst,
    rate: afterFirst / ratingSeconds,
    seconds: ratingSeconds,
    priced: {
      seconds: (charges.at - firstCommit) / 1000,
      rate: afterFirst / ((charges.at - firstCommit) / 1000),
      lagSeconds: (charges.at - t1) / 1000,
      cpuAfterQuantities: charges.cpuSeconds - cpuAtQuantities,
      unpricedAtQuantities: charges.unpricedAtStart,
      cpuSeconds: charges.cpuSeconds,
    },
    totalSeconds: (t1 - t0) / 1000,
    vmHwmKb,
    cpuSeconds,
    startupCpuSeconds,
    machine: Object.fromEntries(
      Object.entries(machineAfter).map(([k, v]) => [k, v - (machineBefore[k] ?? 0)]),
    ),
    machineSeconds: ((t1 - t0) / 1000) * cpus().length,
    // From the first commit until the quantities caught up: each main thread's time on CPU and on
    // the run queue, and the machine's busy time over its cores, as fractions of the wall time.
    busy: {
      mainThread: (busyAtQuantities.main - busyAtFirst.main) / ratings.length / ratingSeconds,
      runQueue: (busyAtQuantities.runQueue - busyAtFirst.runQueue) / ratings.length / ratingSeconds,
      machine: (busyAtQuantities.machine - busyAtFirst.machine) / (ratingSeconds * cpus().length),
      cores: cpus().length,
    },
  };
}

/**
 * The rating processes' main threads' CPU seconds so far and their time runnable but waiting for a
 * core (the scheduler's run queue, /proc/<pid>/task/<pid>/schedstat; 0 where the kernel keeps no
 * such count), summed, and the machine's busy time.
 */
function busyNow(ratings) {
  return {
    main: ratings.reduce((sum, r) => sum + threadCpuSeconds(r.pid).main, 0),
    runQueue: ratings.reduce((sum, r) => sum + runQueueSeconds(r.pid), 0),
    machine: machineBusySeconds(),
  };
}

/**
 * Waits (at most 5 min) until no deployment's ledger holds an unpriced piece: when the charges
 * have caught up with the quantities. Returns when that was, the rating processes' CPU seconds
 * then, and how many pieces were unpriced when it started.
 */
async function chargesCaughtUp(db, deployments, ratings) {
  const t0 = performance.now();
  let unpricedAtStart = null;
  // A row holds a batch's pieces of a tenant month, and says how many (piece_count); a ledger
  // an older build (--variant-main) migrated has a piece per row, or (a build before the pricing
  // stage, which priced in the batch) no such table: nothing is ever left to price.
  const counts = [];
  for (const d of deployments) {
    const r = await db.query(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'rating_unpriced_usage'`,
      [d.runName],
    );
    const columns = r.rows.map((row) => row.column_name);
    counts.push(
      columns.length === 0
        ? null
        : columns.includes('piece_count')
          ? 'coalesce(piece_count, 1)'
          : '1',
    );
  }
  for (;;) {
    let unpriced = 0;
    for (const [i, d] of deployments.entries()) {
      if (counts[i] === null) continue;
      const r = await db.query(
        `SELECT coalesce(sum(${counts[i]}), 0)::int AS n FROM "${d.runName}".rating_unpriced_usage`,
      );
      unpriced += r.rows[0].n;
    }
    unpricedAtStart ??= unpriced;
    if (unpriced === 0) {
      const cpuSeconds = cpuSecondsOf(ratings);
      return { at: performance.now(), cpuSeconds, unpricedAtStart };
    }
    if (performance.now() - t0 > 5 * 60_000)
      throw new Error(`${unpriced} pieces still unpriced 5 min after the quantities caught up`);
    await sleep(50);
  }
}

/** The rating processes' CPU seconds so far, all threads. */
function cpuSecondsOf(ratings) {
  return ratings.reduce((sum, r) => sum + cpuTicks(r.pid) / TICKS_PER_S, 0);
}

/** A process's CPU seconds so far: its main thread, and the others (V8, libuv, workers). */
function threadCpu(pid) {
  const { main, mainSystem, others } = threadCpuSeconds(pid);
  others.sort((a, b) => b - a);
  const sum = others.reduce((s, x) => s + x, 0);
  return `main ${main.toFixed(1)} (in the kernel ${mainSystem.toFixed(1)}), ${others.length} others ${sum.toFixed(1)} (the busiest ${others
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
  // The bench's own process (its watchers: offsets, lock waits, /proc): what observing (c) costs.
  const own = process.cpuUsage();
  out.bench = (own.user + own.system) / 1e6;
  out.busy = machineBusySeconds();
  return out;
}
