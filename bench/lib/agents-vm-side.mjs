// The VM side of bench/agents-side-by-side.mjs: N idle KVM domains; vm-collector (as configured,
// then once with each `--env` variant of its settings), collectd's virt plugin and
// prometheus-libvirt-exporter each watched alone over the same window beside libvirtd.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentRow, f, printTable } from './agents-report.mjs';
import { collectdRate, domainCpuNs, ourRate, rate } from './cpu-truth.mjs';
import {
  aboveIdle,
  every,
  pidOf,
  sleep,
  startProcess,
  stopProcess,
  watch,
} from './process-watch.mjs';
import { stackRuntime } from './stack-runtime.mjs';

/**
 * `run`: { id, root, tmp, windowS, settleS, intervalS, libvirtUri, vmEnvs, createdDomains } of the
 * bench (vmEnvs: the variants of vm-collector's settings measured after it as configured;
 * createdDomains: what to destroy if it is stopped half-way).
 */
export async function vmSide(run, pipeline, n) {
  const { tmp, libvirtUri: uri, windowS, settleS, intervalS } = run;
  const names = Array.from({ length: n }, (_, i) => `${run.id}-vm-${i}`);
  for (const name of names) {
    const xml = spawnSync(
      'bash',
      [join(run.root, 'infra/local/libvirt.sh'), 'domain-xml', name, randomUUID(), 'bench-tenant'],
      { encoding: 'utf8' },
    );
    if (xml.status !== 0) throw new Error(`domain-xml: ${xml.stderr}`);
    const file = join(tmp, `${name}.xml`);
    writeFileSync(file, xml.stdout);
    const created = spawnSync('virsh', ['-c', uri, 'create', file], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`virsh create ${name}: ${created.stderr}`);
  }
  run.createdDomains.push(...names);
  console.log(`# ${n} domains running; settling ${settleS} s`);
  await sleep(settleS * 1000);
  const libvirtd = pidOf('libvirtd');
  const idle = (await watch({ libvirtd }, windowS)).libvirtd;
  const daemonAbove = aboveIdle(idle);
  const one = names[0];
  const rows = [];

  /**
   * vm-collector with `env` over its settings (NODE_OPTIONS added to its own), alone for the
   * window: its row, labelled `label`.
   */
  const measureOurs = async (env, label) => {
    const runtime = stackRuntime('vm-collector');
    const nodeOptions = [runtime.NODE_OPTIONS, env.NODE_OPTIONS].filter((o) => o !== undefined);
    await pipeline.startVmCollector({
      ...runtime,
      LOG_LEVEL: 'warn',
      ...env,
      ...(nodeOptions.length > 0 ? { NODE_OPTIONS: nodeOptions.join(' ') } : {}),
    });
    await sleep(settleS * 1000);
    const t0 = domainCpuNs(uri, one);
    const w = await watch({ agent: pipeline.pid('vm-collector'), libvirtd }, windowS);
    const t1 = domainCpuNs(uri, one);
    await pipeline.stopService('vm-collector');
    const reported = await ourRate(
      pipeline.topic,
      run.id,
      (s) => s.resource?.name === one,
      t0.atMs,
      t1.atMs,
    );
    return agentRow(
      `${label} (${reported.samples} samples of ${one})`,
      w,
      daemonAbove(w.libvirtd),
      reported.rate,
      rate(t0, t1),
    );
  };
  // ours as configured, then once per variant (`--env`): e.g. POLL_INTERVAL_MS = the sample
  // interval, no start/stop watch between samples (what the watch costs apart from sampling)
  rows.push(await measureOurs({}, 'vm-collector'));
  for (const env of run.vmEnvs) {
    const label = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    rows.push(await measureOurs(env, `vm-collector, ${label}`));
  }

  // collectd's virt plugin, csv output with raw counters
  const csvDir = join(tmp, `collectd-${n}`);
  const conf = join(tmp, `collectd-${n}.conf`);
  writeFileSync(conf, collectdConf(run, n, csvDir));
  const collectd = startProcess('collectd', ['-f', '-C', conf], join(tmp, `collectd-${n}.log`));
  await sleep(settleS * 1000);
  let t0 = domainCpuNs(uri, one);
  let w = await watch({ agent: collectd.pid, libvirtd }, windowS);
  let t1 = domainCpuNs(uri, one);
  await stopProcess(collectd);
  rows.push(
    agentRow(
      'collectd virt plugin',
      w,
      daemonAbove(w.libvirtd),
      collectdRate(csvDir, one, t0.atMs, t1.atMs),
      rate(t0, t1),
    ),
  );

  // prometheus-libvirt-exporter, scraped every 10 s as a Prometheus would
  const port = 19_177;
  const exporter = startProcess(
    'prometheus-libvirt-exporter',
    [`--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${uri}`],
    join(tmp, `libvirt-exporter-${n}.log`),
  );
  await sleep(2000);
  const scrapes = [];
  const scrape = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) => l.startsWith('libvirt_domain_info_cpu_time_seconds_total') && l.includes(`"${one}"`),
      );
    if (line !== undefined)
      scrapes.push({ ns: Number(line.split(' ').at(-1)) * 1e9, atMs: Date.now() });
  };
  await scrape();
  await sleep(settleS * 1000);
  t0 = domainCpuNs(uri, one);
  const firstScrape = scrapes.length;
  w = await watch({ agent: exporter.pid, libvirtd }, windowS, (end) =>
    every(end, intervalS, scrape),
  );
  t1 = domainCpuNs(uri, one);
  await stopProcess(exporter);
  const mine = scrapes.slice(firstScrape);
  rows.push(
    agentRow(
      `prometheus-libvirt-exporter (${mine.length} scrapes)`,
      w,
      daemonAbove(w.libvirtd),
      mine.length >= 2 ? rate(mine[0], mine.at(-1)) : Number.NaN,
      rate(t0, t1),
    ),
  );

  printTable(
    `${n} idle KVM domains, ${windowS} s each (libvirtd idle: ${f(idle.cpuS)} CPU-s in its window)`,
    rows,
    `libvirt cpu.time rate of ${one}`,
  );
  for (const name of names) spawnSync('virsh', ['-c', uri, 'destroy', name]);
  run.createdDomains.length = 0;
  return rows;
}

/** collectd with the virt plugin every `intervalS`, raw counters to csv files in `csvDir`. */
function collectdConf(run, n, csvDir) {
  return [
    `Hostname "bench"`,
    `FQDNLookup false`,
    `Interval ${run.intervalS}`,
    `BaseDir "${run.tmp}"`,
    `PIDFile "${join(run.tmp, `collectd-${n}.pid`)}"`,
    `PluginDir "/usr/lib/collectd"`,
    `TypesDB "/usr/share/collectd/types.db"`,
    `LoadPlugin virt`,
    `LoadPlugin csv`,
    `<Plugin virt>`,
    `  Connection "${run.libvirtUri}"`,
    `  RefreshInterval 60`,
    `  HostnameFormat "name"`,
    `</Plugin>`,
    `<Plugin csv>`,
    `  DataDir "${csvDir}"`,
    `  StoreRates false`,
    `</Plugin>`,
    '',
  ].join('\n');
}
