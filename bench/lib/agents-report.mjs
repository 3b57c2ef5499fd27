// The tables of bench/agents-side-by-side.mjs: one row per agent, the first row ours (the ratios
// are against it).

/** A figure with `d` decimals, or — when there is none. */
export const f = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');

const pct = (reported, truth) =>
  Number.isFinite(reported) && truth > 0
    ? `${(((reported - truth) / truth) * 100).toFixed(1)} %`
    : '—';

export function printTable(title, rows, truthLabel) {
  console.log(`\n## ${title}`);
  console.log(
    `| agent | agent CPU-s | daemon CPU-s above idle | total CPU-s | ratio to ours | context switches/s | peak RSS MB | reported CPU rate (cores) | ${truthLabel} | error |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const ours = rows[0].agentCpuS + rows[0].daemonCpuS;
  for (const r of rows) {
    const total = r.agentCpuS + r.daemonCpuS;
    console.log(
      `| ${r.name} | ${f(r.agentCpuS)} | ${f(r.daemonCpuS)} | ${f(total)} | ${f(total / ours)}× | ${f(r.switchesPerS, 1)} | ${f(r.peakRssMb, 0)} | ${f(r.reported, 4)} | ${f(r.truth, 4)} | ${pct(r.reported, r.truth)} |`,
    );
  }
}

/**
 * The row of an agent watched as `agent` beside its daemon (`daemonCpuS` above its idle); printed
 * at once, so a run stopped later keeps what it measured.
 */
export function agentRow(name, w, daemonCpuS, reported, truth) {
  const row = {
    name,
    agentCpuS: w.agent.cpuS,
    daemonCpuS,
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported,
    truth,
  };
  console.log(
    `# row: ${name}: agent ${f(row.agentCpuS)} + daemon ${f(daemonCpuS)} CPU-s, ${f(row.switchesPerS, 1)} switches/s, reported ${f(reported, 4)} vs ${f(truth, 4)} cores`,
  );
  return row;
}
