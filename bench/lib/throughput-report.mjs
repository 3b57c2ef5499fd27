// What bench/rating-throughput.mjs prints: its progress on stderr (log), and the summary: the
// references (a), (b), (b'), each run of rating against them, the scale-out and variant lines.
import { loadavg } from 'node:os';
import { LEDGER_ROW_TABLES } from '../ledger-watch.mjs';

export const log = (...a) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
export const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** PostgreSQL's CPU on rating's backends (bench/lib/pg-backend-cpu.mjs), per sample and batch. */
function pgLine(pg, N, batches) {
  if (!pg.visible) return 'not measured (the backends are not processes of this machine)';
  return `${pg.ratingSeconds.toFixed(1)} s = ${((pg.ratingSeconds * 1e6) / N).toFixed(1)} µs/sample${
    batches > 0 ? `, ${((pg.ratingSeconds * 1e3) / batches).toFixed(0)} ms/batch` : ''
  } (${pg.backends.length} backends); on the bench's own polling ${pg.benchSeconds.toFixed(1)} s`;
}

/**
 * The summary. `fleet`: { N, RESOURCES, TENANTS, PARTITIONS, INSTANCES, HOST_AUTH }; `a`, `b`, `d`: the
 * references' samples/s; `cs`: the runs of rating (rateAll's results; the first one instance);
 * `spread`: how the tenants spread over the partitions (with --instances N > 1).
 */
export function printSummary(
  { N, RESOURCES, TENANTS, PARTITIONS, INSTANCES, HOST_AUTH = false },
  { a, b, d, f, dBefore, dAfter, fBefore, fAfter, roundReferences = [], roundFiled = [] },
  cs,
  spread,
) {
  const c = cs[0];
  const perSample = (r) => Number(((r.cpuSeconds * 1e6) / r.samples).toFixed(1));
  const afterFirst = (r) =>
    Number((((r.cpuSeconds - r.startupCpuSeconds) * 1e6) / r.samplesAfterFirst).toFixed(1));
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  const runLines = (r, label) => {
    const N = r.samples;
    const rows = LEDGER_ROW_TABLES.reduce((s, t) => s + (r.rows[t] ?? 0), 0);
    const allRows = Object.values(r.rows).reduce((s, x) => s + x, 0);
    return `  ${label.padEnd(27)}${fmt(r.rate).padStart(9)} samples/s  (ledger caught up ${r.seconds.toFixed(1)} s after the first commit, the rate of the ${fmt(r.samplesAfterFirst)} samples after it; ${r.totalSeconds.toFixed(1)} s with start-up)
    c/b'' ${pct(r.rate / f)} (issue 19's target, against its reference as filed: ≥ 50 %: ${r.rate >= 0.5 * f ? 'PASS' : 'FAIL'})   c/b' ${pct(r.rate / d)} (against rating's own decoder: stricter${r.withoutMacs === true ? "; (b') checks MACs, this run does not" : ''})   c/b ${pct(r.rate / b)}   c/a ${pct(r.rate / a)}
    charges caught up ${r.priced.lagSeconds.toFixed(1)} s later (${fmt(r.priced.unpricedAtQuantities)} pieces unpriced when the quantities had; rating CPU ${r.priced.cpuAfterQuantities.toFixed(1)} s meanwhile): ${fmt(r.priced.rate)} samples/s rated and priced, c/b'' ${pct(r.priced.rate / f)}, c/b' ${pct(r.priced.rate / d)}; the CPU figures below count until then
    rating CPU ${r.cpuSeconds.toFixed(1)} s = ${perSample(r).toFixed(1)} µs/sample${r.perInstance.length > 1 ? ` (per instance ${r.perInstance.map((x) => `${x.toFixed(1)} s`).join(', ')})` : ''}; after the first commit ${afterFirst(r).toFixed(1)} µs/sample (start-up ${r.startupCpuSeconds.toFixed(1)} s); peak RSS (VmHWM) ${r.vmHwmKb.map((kb) => `${(kb / 1024).toFixed(0)} MB`).join(', ')} (target < 300 MB: ${Math.max(...r.vmHwmKb) < 300 * 1024 ? 'PASS' : 'FAIL'})
    rating CPU by thread (s): ${r.threads.join('; ')}${r.gc.map((line) => `\n    ${line}`).join('')}
    from the first commit until caught up: rating's main thread${r.perInstance.length > 1 ? 's' : ''} on CPU ${pct(r.busy.mainThread)} of the time and ready but waiting for a core ${pct(r.busy.runQueue)}${r.perInstance.length > 1 ? ' (their mean)' : ''} (the rest it waits for PostgreSQL or Kafka), the machine busy ${pct(r.busy.machine)} of its ${r.busy.cores} cores
    machine during (c): ${r.machine.busy.toFixed(1)} of ${r.machineSeconds.toFixed(1)} core-s busy; rating ${r.cpuSeconds.toFixed(1)}, ${['postgres', 'influxd', 'kafka (java)'].map((k) => `${k} ${r.machine[k].toFixed(1)}`).join(', ')} (all processes of the shared servers), the bench's own process ${r.machine.bench.toFixed(1)}
    PostgreSQL on rating's own connections ${pgLine(r.pgBackends, N, r.batches)}
    ledger rows written (inserted + updated, pg_stat_user_tables) ${LEDGER_ROW_TABLES.map((t) => `${t} ${fmt(r.rows[t] ?? 0)}`).join(', ')}: ${fmt(rows / r.seconds)} rows/s against ${fmt(r.rate)} samples/s (${(rows / N).toFixed(3)} rows per sample; all tables ${fmt(allRows)})
    ledger size: ${LEDGER_ROW_TABLES.map((t) => `${t} ${fmt(r.sizes[t].rows)} rows, ${fmt(r.sizes[t].bytesPerRow)} bytes a row on disk with its indexes and dead versions, ${fmt(r.sizes[t].tupleBytes)} bytes a live row`).join('; ')}
    lock waits (pg_stat_activity sampled every 20 ms inside PostgreSQL, ${r.locks.samples} samples, ${r.locks.connections} rating connections): on locks another rating process held ${r.locks.otherSeconds.toFixed(2)} s, on its own other batch's ${r.locks.sameSeconds.toFixed(2)} s (summed over connections, of ${r.seconds.toFixed(1)} s)${r.locks.statements.map((x) => `\n      ${x.seconds.toFixed(2)} s in "${x.statement}…"`).join('')}
    usage events published ${fmt(r.events)}, InfluxDB usage points ${fmt(r.influxPoints.usage)}, resource points ${fmt(r.influxPoints.resource)}`;
  };
  console.log(`
rating throughput, ${fmt(N)} samples (${RESOURCES} resources, ${TENANTS} tenants, ${PARTITIONS} partitions${HOST_AUTH ? '; signed by their hosts, HOST_AUTH on as in production' : ''})
  (a) kcat raw consume         ${fmt(a).padStart(9)} samples/s
  (b) kafkajs no-op consumer   ${fmt(b).padStart(9)} samples/s
  (b') kafkajs + decoding      ${fmt(d).padStart(9)} samples/s  (rating's decoder${HOST_AUTH ? ' and MAC check' : ''} only: the reference of c/b', stricter than the target's, since each faster decoder of rating's raises it; the geometric mean of ${fmt(dBefore)} before the runs of rating and ${fmt(dAfter)} after them)
  (b'') kafkajs + contract     ${fmt(f).padStart(9)} samples/s  ((b') as issue 19 was filed: the contract's decoder, JSON.parse and the schema's checks, before rating read samples from their bytes: the reference of the target, c/b''; the geometric mean of ${fmt(fBefore)} before the runs of rating and ${fmt(fAfter)} after them)
${runLines(c, '(c) rating service')}${
    INSTANCES > 1
      ? `
${runLines(cs[1], `(c×${INSTANCES}) ${INSTANCES} instances`)}
${runLines(cs[2], `(c‖${INSTANCES}) ${INSTANCES} apart`)}
    (${INSTANCES} deployments sharing nothing, each its own topic, ledger and group with 1/${INSTANCES} of the fleet: what this machine does to ${INSTANCES} rating processes at once)
  scale-out: ${INSTANCES} instances ${fmt(cs[1].rate)} samples/s against 1 instance ${fmt(c.rate)} (×${(cs[1].rate / c.rate).toFixed(2)}); CPU per sample ${perSample(cs[1])} µs against ${perSample(c)} µs (×${(perSample(cs[1]) / perSample(c)).toFixed(2)}), after the first commit ${afterFirst(cs[1])} against ${afterFirst(c)} (×${(afterFirst(cs[1]) / afterFirst(c)).toFixed(2)}); ${spread}
  the group's own cost: ${INSTANCES} instances in one group against ${INSTANCES} deployments sharing nothing: CPU per sample ×${(perSample(cs[1]) / perSample(cs[2])).toFixed(2)}, after the first commit ×${(afterFirst(cs[1]) / afterFirst(cs[2])).toFixed(2)} (${afterFirst(cs[2])} µs apart; apart against 1 instance ×${(afterFirst(cs[2]) / afterFirst(c)).toFixed(2)}: the machine's)`
      : ''
  }${cs
    .filter((r) => r.label !== null && (r.pair ?? 0) === 0)
    .map(
      (r) => `
${runLines(r, r.label)}
  variant against (c): ${fmt(r.rate)} samples/s against ${fmt(c.rate)} (×${(r.rate / c.rate).toFixed(2)}), rated and priced ×${(r.priced.rate / c.priced.rate).toFixed(2)}; CPU per sample ×${(r.cpuSeconds / c.cpuSeconds).toFixed(2)}`,
    )
    .join('')}${pairLines(cs, afterFirst)}${roundLines(cs, roundReferences, roundFiled, afterFirst)}
  load average ${load()}`);
}

/**
 * With --rounds N > 1: each round's (c) against the (b'') and (b') runs on both sides of it (their
 * geometric means), and the rounds' medians: the verdict of c/b'' when one ratio is a draw of the
 * machine.
 */
function roundLines(cs, references, filed, afterFirst) {
  const rounds = cs.filter((r) => r.round !== null && r.round !== undefined);
  if (rounds.length < 2) return '';
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const median = (xs) => {
    const sorted = [...xs].sort((p, q) => p - q);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const around = (xs, k) => Math.sqrt(xs[k] * xs[k + 1]);
  const rows = rounds.map((r) => {
    const reference = around(references, r.round);
    const asFiled = around(filed, r.round);
    return {
      r,
      reference,
      asFiled,
      ratio: r.rate / reference,
      target: r.rate / asFiled,
      priced: r.priced.rate / asFiled,
    };
  });
  const lines = rows.map(
    ({ r, reference, asFiled, ratio, target, priced }) =>
      `\n    round ${r.round + 1}: (c) ${fmt(r.rate)} samples/s, (b'') ${fmt(asFiled)} (${fmt(filed[r.round])} before, ${fmt(filed[r.round + 1])} after), (b') ${fmt(reference)} (${fmt(references[r.round])}, ${fmt(references[r.round + 1])}): c/b'' ${pct(target)}, rated and priced ${pct(priced)}, c/b' ${pct(ratio)}; CPU a sample after the first commit ${afterFirst(r)} µs`,
  );
  const span = (xs) => `from ${pct(Math.min(...xs))} to ${pct(Math.max(...xs))}`;
  const targets = rows.map((x) => x.target);
  const m = median(targets);
  return `
  rounds, each (c) against the references on both sides of it:${lines.join('')}
  the ${rows.length} rounds' median c/b'' ${pct(m)} (issue 19's target ≥ 50 %: ${m >= 0.5 ? 'PASS' : 'FAIL'}; ${span(targets)}), rated and priced ${pct(median(rows.map((x) => x.priced)))}; median c/b' ${pct(median(rows.map((x) => x.ratio)))} (${span(rows.map((x) => x.ratio))})`;
}

/**
 * With --pairs N > 1: the variant against (c) in each pair (in run order), and the pairs'
 * geometric mean. Pair 1 ran (c) first, the others alternate; with both orders, the pairs also
 * give how much slower the second run of a pair was on its own (the machine, not the variant).
 */
function pairLines(cs, afterFirst) {
  const pairs = [];
  for (const v of cs.filter((r) => r.label !== null && r.pair !== null)) {
    const c = v.pair === 0 ? cs[0] : cs.find((r) => r.base && r.pair === v.pair);
    const variantFirst = cs.indexOf(v) < cs.indexOf(c);
    pairs.push({
      n: v.pair + 1,
      variantFirst,
      rate: v.rate / c.rate,
      priced: v.priced.rate / c.priced.rate,
      cpu: afterFirst(v) / afterFirst(c),
      pg: v.pgBackends.visible ? v.pgBackends.ratingSeconds / c.pgBackends.ratingSeconds : NaN,
      c,
      v,
    });
  }
  if (pairs.length < 2) return '';
  const x = (r) => `×${r.toFixed(2)}`;
  const gm = (k, of = pairs) => Math.exp(of.reduce((s, p) => s + Math.log(p[k]), 0) / of.length);
  const lines = pairs.map(
    (p) =>
      `\n    pair ${p.n} (${p.variantFirst ? "(c')" : '(c)'} first): ${fmt(p.v.rate)} samples/s against ${fmt(p.c.rate)} (${x(p.rate)}), rated and priced ${x(p.priced)}, CPU a sample after the first commit ${afterFirst(p.v)} against ${afterFirst(p.c)} µs (${x(p.cpu)}), PostgreSQL on rating's connections ${x(p.pg)}`,
  );
  const first = pairs.filter((p) => p.variantFirst);
  const second = pairs.filter((p) => !p.variantFirst);
  // Variant second: ratio = true × q, variant first: true ÷ q (q: a second run against a first).
  const order =
    first.length > 0 && second.length > 0
      ? `; a pair's second run against its first, whatever ran (from the two orders): samples/s ×${Math.sqrt(gm('rate', second) / gm('rate', first)).toFixed(2)}, CPU a sample ×${Math.sqrt(gm('cpu', second) / gm('cpu', first)).toFixed(2)}`
      : '';
  return `
  pairs, the variant against (c) in run order:${lines.join('')}
  the ${pairs.length} pairs' geometric mean: samples/s ${x(gm('rate'))}, rated and priced ${x(gm('priced'))}, CPU a sample after the first commit ${x(gm('cpu'))}, PostgreSQL on rating's connections ${x(gm('pg'))}${order}`;
}
