// What a host pays for its metering agents, side by side with the tools they replace (issue 18):
// in one run on this machine, on the same N idle KVM domains and the same M idle containers,
//   - vm-collector          (as configured, and again with POLL_INTERVAL_MS = the 10-s sample
//                           interval: no start/stop watch between samples) against collectd's
//                           `virt` plugin (10 s interval, csv output) and
//                           prometheus-libvirt-exporter scraped every 10 s;
//   - docker-collector      against `docker stats --no-stream` over the same containers every 10 s;
// each alone over the same window, one after the other: CPU-seconds of the agent (all threads,
// utime+stime from /proc/<pid>/stat; for `docker stats`, the client processes' own times), what
// it cost the daemon it asks (libvirtd / dockerd, above the same daemon's idle window before),
// context switches per second (a thread put to sleep or woken: the wake-ups), peak RSS, and the
// CPU rate each reported for one resource against the kernel's own counter for it (libvirt's
// cpu.time, the cgroup's usage) over the window. Prints the tables and the ratios against
// our collector. Asserts nothing; exit code 0 unless something failed to run.
//
//   node bench/agents-side-by-side.mjs [--domains 4,20] [--containers 30,300] [--window 60]
//                                      [--settle 20] [--no-install]
// Needs the infrastructure of the local stack (npm run stack -- --infra) and a build (npx tsc -b).
// Installs collectd-core and prometheus-libvirt-exporter from Debian first (its own step,
// bench/agents-side-by-side.install.sh). Every process it starts listens on 127.0.0.1 only;
// the domains have no network interface, the containers run with --network none; all are
// removed at the end (also on Ctrl-C).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { ServicePipeline } = require(join(root, 'libs/pipeline-harness/dist/src/index.js'));
const { localInfra, procDelta, procSample } = require(join(root, 'libs/testing/dist/src/index.js'));
const { Kafka, logLevel } = require('kafkajs');
const Docker = require('dockerode');

const { values: opts } = parseArgs({
  options: {
    domains: { type: 'string', default: '4,20' },
    containers: { type: 'string', default: '30,300' },
    window: { type: 'string', default: '60' },
    settle: { type: 'string', default: '20' },
    'no-install': { type: 'boolean', default: false },
  },
});
const sizes = (text) =>
  text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error(`bad size ${s}`);
      return n;
    });
const DOMAIN_COUNTS = sizes(opts.domains);
const CONTAINER_COUNTS = sizes(opts.containers);
const WINDOW_S = Number(opts.window);
const SETTLE_S = Number(opts.settle);
if (!(WINDOW_S >= 10 && WINDOW_S <= 3600)) throw new Error('--window: 10..3600 seconds');
if (!(SETTLE_S >= 0 && SETTLE_S <= 600)) throw new Error('--settle: 0..600 seconds');
const INTERVAL_S = 10;
const LIBVIRT_URI = localInfra.libvirtUri;
const RUN = `sbs${Date.now().toString(36)}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'agents-sbs-'));

// ---- processes ---------------------------------------------------------------------------------

function pidOf(name) {
  const out = spawnSync('pgrep', ['-xo', name], { encoding: 'utf8' });
  const pid = Number(out.stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`${name} is not running (start the stack's infrastructure)`);
  return pid;
}

/**
 * Watches `pids` over `seconds` (while `during` runs, if given): CPU-seconds, context switches/s
 * and peak RSS of each, RSS sampled every second.
 */
async function watch(pids, seconds, during) {
  const first = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procSample(pid)]));
  const peak = Object.fromEntries(Object.entries(first).map(([k, s]) => [k, s.rssKb]));
  const end = performance.now() + seconds * 1000;
  const work = during?.(end);
  while (performance.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - performance.now())));
    for (const [k, pid] of Object.entries(pids)) {
      try {
        peak[k] = Math.max(peak[k], procSample(pid).rssKb);
      } catch {
        // gone: reported below
      }
    }
  }
  await work;
  const result = {};
  for (const [k, pid] of Object.entries(pids)) {
    const d = procDelta(first[k], procSample(pid));
    result[k] = {
      cpuS: d.cpuS,
      switchesPerS: d.switchesPerS,
      peakRssMb: peak[k] / 1024,
      wallS: d.wallS,
    };
  }
  return result;
}

function startProcess(command, args, logName) {
  const log = join(tmp, `${logName}.log`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = [];
  child.stdout.on('data', (c) => chunks.push(c));
  child.stderr.on('data', (c) => chunks.push(c));
  child.on('exit', () => writeFileSync(log, Buffer.concat(chunks)));
  return child;
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

// ---- the kernel's own counters ----------------------------------------------------------------

/** libvirt's cpu.time of a domain, in ns. */
function domainCpuNs(name) {
  const out = spawnSync('virsh', ['-c', LIBVIRT_URI, 'domstats', '--cpu-total', name], {
    encoding: 'utf8',
  });
  const m = /cpu\.time=(\d+)/.exec(out.stdout);
  if (m === null) throw new Error(`virsh domstats ${name}: ${out.stderr}`);
  return { ns: Number(m[1]), atMs: Date.now() };
}

/** The cgroup's CPU usage of a container's main process, in ns (v2 usage_usec, v1 cpuacct). */
function cgroupCpuNs(pid) {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v2 = lines.find((l) => l.startsWith('0::'));
  const v1 = lines.find((l) => /:(?:[^:]*,)?cpuacct(?:,[^:]*)?:/.test(l));
  if (v1 !== undefined) {
    const path = v1.split(':')[2];
    for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuacct']) {
      try {
        const ns = Number(readFileSync(join(mount, path, 'cpuacct.usage'), 'utf8'));
        return { ns, atMs: Date.now() };
      } catch {
        // try the next mount point
      }
    }
  }
  if (v2 !== undefined) {
    const stat = readFileSync(join('/sys/fs/cgroup', v2.slice(3), 'cpu.stat'), 'utf8');
    const usec = Number(/^usage_usec (\d+)/m.exec(stat)?.[1]);
    return { ns: usec * 1000, atMs: Date.now() };
  }
  throw new Error(`no cpu cgroup for pid ${pid}`);
}

/** Runs `task` now and every INTERVAL_S after, on a fixed schedule, while before `end`. */
async function every(end, task) {
  for (let at = performance.now(); at < end; at += INTERVAL_S * 1000) {
    await sleep(Math.max(0, at - performance.now()));
    await task();
  }
}

const rate = (a, b) => (b.ns - a.ns) / 1e9 / ((b.atMs - a.atMs) / 1000);

/** The CPU rate (cores) our collector's samples of one resource show over the window. */
async function ourRate(topic, match, fromMs, toMs) {
  const kafka = new Kafka({ brokers: localInfra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${RUN}-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const samples = [];
  const remaining = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  for (const [p, high] of remaining) if (high === 0n) remaining.delete(p);
  await new Promise((resolveRun, rejectRun) => {
    const timer = setTimeout(resolveRun, 30_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const s = JSON.parse(message.value.toString('utf8'));
          const at = Date.parse(s.observedAt);
          if (match(s) && at >= fromMs && at <= toMs) {
            samples.push({ ns: Number(s.cpu.usageNs), atMs: at });
          }
          if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) {
            remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolveRun();
            }
          }
        },
      })
      .catch(rejectRun);
  });
  await consumer.disconnect();
  samples.sort((a, b) => a.atMs - b.atMs);
  if (samples.length < 2) return { rate: Number.NaN, samples: samples.length };
  return { rate: rate(samples[0], samples.at(-1)), samples: samples.length };
}

// ---- printing ----------------------------------------------------------------------------------

const f = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const pct = (reported, truth) =>
  Number.isFinite(reported) && truth > 0
    ? `${(((reported - truth) / truth) * 100).toFixed(1)} %`
    : '—';

function printTable(title, rows, truthLabel) {
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

// ---- the VM side ------------------------------------------------------------------------------

async function vmSide(pipeline, n) {
  const names = Array.from({ length: n }, (_, i) => `${RUN}-vm-${i}`);
  for (const name of names) {
    const xml = spawnSync(
      'bash',
      [join(root, 'infra/local/libvirt.sh'), 'domain-xml', name, randomUUID(), 'bench-tenant'],
      { encoding: 'utf8' },
    );
    if (xml.status !== 0) throw new Error(`domain-xml: ${xml.stderr}`);
    const file = join(tmp, `${name}.xml`);
    writeFileSync(file, xml.stdout);
    const created = spawnSync('virsh', ['-c', LIBVIRT_URI, 'create', file], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`virsh create ${name}: ${created.stderr}`);
  }
  createdDomains.push(...names);
  console.log(`# ${n} domains running; settling ${SETTLE_S} s`);
  await sleep(SETTLE_S * 1000);
  const libvirtd = pidOf('libvirtd');
  const idle = (await watch({ libvirtd }, WINDOW_S)).libvirtd;
  const daemonAbove = (w) => Math.max(0, w.cpuS - (idle.cpuS * w.wallS) / idle.wallS);
  const one = names[0];
  const rows = [];

  // ours
  await pipeline.startVmCollector({ ...stackRuntime('vm-collector'), LOG_LEVEL: 'warn' });
  await sleep(SETTLE_S * 1000);
  let t0 = domainCpuNs(one);
  let w = await watch({ agent: pipeline.pid('vm-collector'), libvirtd }, WINDOW_S);
  let t1 = domainCpuNs(one);
  await pipeline.stopService('vm-collector');
  const oursReported = await ourRate(
    pipeline.topic,
    (s) => s.resource?.name === one,
    t0.atMs,
    t1.atMs,
  );
  rows.push({
    name: `vm-collector (${oursReported.samples} samples of ${one} in the window)`,
    agentCpuS: w.agent.cpuS,
    daemonCpuS: daemonAbove(w.libvirtd),
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported: oursReported.rate,
    truth: rate(t0, t1),
  });

  // ours again at collectd's cadence: POLL_INTERVAL_MS = the sample interval, no start/stop
  // watch between samples (what the 1-s watch costs, apart from what sampling costs)
  await pipeline.startVmCollector({
    ...stackRuntime('vm-collector'),
    LOG_LEVEL: 'warn',
    POLL_INTERVAL_MS: String(INTERVAL_S * 1000),
  });
  await sleep(SETTLE_S * 1000);
  t0 = domainCpuNs(one);
  w = await watch({ agent: pipeline.pid('vm-collector'), libvirtd }, WINDOW_S);
  t1 = domainCpuNs(one);
  await pipeline.stopService('vm-collector');
  const slowReported = await ourRate(
    pipeline.topic,
    (s) => s.resource?.name === one,
    t0.atMs,
    t1.atMs,
  );
  rows.push({
    name: `vm-collector, POLL_INTERVAL_MS=${INTERVAL_S * 1000} (no watch between samples; ${slowReported.samples} samples)`,
    agentCpuS: w.agent.cpuS,
    daemonCpuS: daemonAbove(w.libvirtd),
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported: slowReported.rate,
    truth: rate(t0, t1),
  });

  // collectd's virt plugin, csv output with raw counters
  const csvDir = join(tmp, `collectd-${n}`);
  const conf = join(tmp, `collectd-${n}.conf`);
  writeFileSync(
    conf,
    [
      `Hostname "bench"`,
      `FQDNLookup false`,
      `Interval ${INTERVAL_S}`,
      `BaseDir "${tmp}"`,
      `PIDFile "${join(tmp, `collectd-${n}.pid`)}"`,
      `PluginDir "/usr/lib/collectd"`,
      `TypesDB "/usr/share/collectd/types.db"`,
      `LoadPlugin virt`,
      `LoadPlugin csv`,
      `<Plugin virt>`,
      `  Connection "${LIBVIRT_URI}"`,
      `  RefreshInterval 60`,
      `  HostnameFormat "name"`,
      `</Plugin>`,
      `<Plugin csv>`,
      `  DataDir "${csvDir}"`,
      `  StoreRates false`,
      `</Plugin>`,
      '',
    ].join('\n'),
  );
  const collectd = startProcess('collectd', ['-f', '-C', conf], `collectd-${n}`);
  await sleep(SETTLE_S * 1000);
  t0 = domainCpuNs(one);
  w = await watch({ agent: collectd.pid, libvirtd }, WINDOW_S);
  t1 = domainCpuNs(one);
  await stopProcess(collectd);
  rows.push({
    name: 'collectd virt plugin',
    agentCpuS: w.agent.cpuS,
    daemonCpuS: daemonAbove(w.libvirtd),
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported: collectdRate(csvDir, one, t0.atMs, t1.atMs),
    truth: rate(t0, t1),
  });

  // prometheus-libvirt-exporter, scraped every 10 s as a Prometheus would
  const port = 19_177;
  const exporter = startProcess(
    'prometheus-libvirt-exporter',
    [`--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${LIBVIRT_URI}`],
    `libvirt-exporter-${n}`,
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
  await sleep(SETTLE_S * 1000);
  t0 = domainCpuNs(one);
  const firstScrape = scrapes.length;
  w = await watch({ agent: exporter.pid, libvirtd }, WINDOW_S, (end) => every(end, scrape));
  t1 = domainCpuNs(one);
  await stopProcess(exporter);
  const mine = scrapes.slice(firstScrape);
  rows.push({
    name: `prometheus-libvirt-exporter (${mine.length} scrapes)`,
    agentCpuS: w.agent.cpuS,
    daemonCpuS: daemonAbove(w.libvirtd),
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported: mine.length >= 2 ? rate(mine[0], mine.at(-1)) : Number.NaN,
    truth: rate(t0, t1),
  });

  printTable(
    `${n} idle KVM domains, ${WINDOW_S} s each (libvirtd idle: ${f(idle.cpuS)} CPU-s in its window)`,
    rows,
    `libvirt cpu.time rate of ${one}`,
  );
  for (const name of names) spawnSync('virsh', ['-c', LIBVIRT_URI, 'destroy', name]);
  createdDomains.length = 0;
  return rows;
}

/** collectd's csv of the virt plugin: raw cpu counter (ns) per line; the rate inside the window. */
function collectdRate(csvDir, domain, fromMs, toMs) {
  const points = [];
  try {
    const dir = join(csvDir, domain, 'virt');
    for (const file of readdirSync(dir).filter((x) => x.startsWith('virt_cpu_total'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n').slice(1)) {
        const [epoch, value] = line.split(',');
        const atMs = Number(epoch) * 1000;
        if (Number.isFinite(atMs) && atMs >= fromMs - 1000 && atMs <= toMs + 1000)
          points.push({ ns: Number(value), atMs });
      }
    }
  } catch {
    return Number.NaN;
  }
  points.sort((a, b) => a.atMs - b.atMs);
  return points.length >= 2 ? rate(points[0], points.at(-1)) : Number.NaN;
}

// ---- the container side -----------------------------------------------------------------------

async function containerSide(pipeline, docker, m) {
  const ids = [];
  // Container 0 burns a twentieth of a core, so there is a rate to compare; the rest sleep.
  const specs = Array.from({ length: m }, (_, i) => ({
    name: `${RUN}-c-${m}-${i}`,
    Image: localInfra.busyboxImage,
    Cmd: i === 0 ? ['sh', '-c', 'while :; do :; done'] : ['sleep', '3600'],
    Labels: { 'metering.tenant': 'bench-tenant', 'metering.bench': RUN },
    HostConfig: {
      NetworkMode: 'none',
      NanoCpus: i === 0 ? 50_000_000 : 500_000_000,
      Memory: 33_554_432,
    },
  }));
  const started = performance.now();
  for (let i = 0; i < specs.length; i += 8) {
    await Promise.all(
      specs.slice(i, i + 8).map(async (spec) => {
        const c = await docker.createContainer(spec);
        await c.start();
        ids.push(c.id);
      }),
    );
  }
  console.log(
    `# ${m} containers started in ${f((performance.now() - started) / 1000, 0)} s; settling ${SETTLE_S} s`,
  );
  await sleep(SETTLE_S * 1000);
  const busy = await docker.getContainer(`${RUN}-c-${m}-0`).inspect();
  const busyId = busy.Id;
  const busyPid = busy.State.Pid;
  const dockerd = pidOf('dockerd');
  const idle = (await watch({ dockerd }, WINDOW_S)).dockerd;
  const daemonAbove = (w) => Math.max(0, w.cpuS - (idle.cpuS * w.wallS) / idle.wallS);
  const rows = [];

  await pipeline.startDockerCollector({ ...stackRuntime('docker-collector'), LOG_LEVEL: 'warn' });
  await sleep(SETTLE_S * 1000);
  let t0 = cgroupCpuNs(busyPid);
  let w = await watch({ agent: pipeline.pid('docker-collector'), dockerd }, WINDOW_S);
  let t1 = cgroupCpuNs(busyPid);
  await pipeline.stopService('docker-collector');
  const oursReported = await ourRate(
    pipeline.topic,
    (s) => s.resource?.id === busyId,
    t0.atMs,
    t1.atMs,
  );
  rows.push({
    name: `docker-collector (${oursReported.samples} samples of the busy one)`,
    agentCpuS: w.agent.cpuS,
    daemonCpuS: daemonAbove(w.dockerd),
    switchesPerS: w.agent.switchesPerS,
    peakRssMb: w.agent.peakRssMb,
    reported: oursReported.rate,
    truth: rate(t0, t1),
  });

  // `docker stats --no-stream` over the same containers every 10 s; `times` gives the client's CPU.
  let clientCpuS = 0;
  let runs = 0;
  const percents = [];
  t0 = cgroupCpuNs(busyPid);
  w = await watch({ dockerd }, WINDOW_S, (end) =>
    every(end, () => {
      const out = spawnSync(
        'bash',
        [
          '-c',
          'docker stats --no-stream --format "{{.ID}} {{.CPUPerc}}" "$@"; times',
          'stats',
          ...ids,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const lines = out.stdout.trim().split('\n');
      const times = lines
        .at(-1)
        .split(/\s+/)
        .map((t) => {
          const mm = /^(\d+)m([\d.]+)s$/.exec(t);
          return mm === null ? 0 : Number(mm[1]) * 60 + Number(mm[2]);
        });
      clientCpuS += times[0] + times[1]; // this shell's children (the docker client): user + sys
      const busyLine = lines.find((l) => busyId.startsWith(l.split(' ')[0]));
      if (busyLine !== undefined)
        percents.push(Number(busyLine.split(' ')[1].replace('%', '')) / 100);
      runs += 1;
    }),
  );
  t1 = cgroupCpuNs(busyPid);
  rows.push({
    name: `docker stats --no-stream (${runs} runs)`,
    agentCpuS: clientCpuS,
    daemonCpuS: daemonAbove(w.dockerd),
    switchesPerS: Number.NaN,
    peakRssMb: Number.NaN,
    reported:
      percents.length === 0 ? Number.NaN : percents.reduce((a, b) => a + b, 0) / percents.length,
    truth: rate(t0, t1),
  });
  printTable(
    `${m} idle containers (one at 0.05 core), ${WINDOW_S} s each (dockerd idle: ${f(idle.cpuS)} CPU-s in its window)`,
    rows,
    'cgroup usage rate of the busy one',
  );
  await removeContainers(docker);
  return rows;
}

async function removeContainers(docker) {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`metering.bench=${RUN}`] },
  });
  for (let i = 0; i < listed.length; i += 16) {
    await Promise.all(
      listed.slice(i, i + 16).map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }
}

function stackRuntime(name) {
  const text = readFileSync(join(root, 'services', name, 'stack.env'), 'utf8');
  return Object.fromEntries(
    ['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'SAMPLE_INTERVAL_MS'].flatMap((k) => {
      const v = new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1];
      return v === undefined ? [] : [[k, v]];
    }),
  );
}

// ---- main ---------------------------------------------------------------------------------------

const createdDomains = [];
const docker = new Docker({ socketPath: localInfra.dockerSocket });
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const name of createdDomains) spawnSync('virsh', ['-c', LIBVIRT_URI, 'destroy', name]);
  await removeContainers(docker).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

if (!opts['no-install']) {
  const install = spawnSync('bash', [join(root, 'bench/agents-side-by-side.install.sh')], {
    stdio: 'inherit',
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

const pipeline = new ServicePipeline('sbs');
try {
  await pipeline.prepare();
  console.log(
    `# agents side by side: domains ${DOMAIN_COUNTS.join(', ')}; containers ${CONTAINER_COUNTS.join(', ')}; settle ${SETTLE_S} s, window ${WINDOW_S} s each; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const n of DOMAIN_COUNTS) await vmSide(pipeline, n);
  for (const m of CONTAINER_COUNTS) await containerSide(pipeline, docker, m);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (the machine is shared: compare ratios, repeat for spread)`,
  );
} finally {
  await pipeline.stop();
  await cleanUp();
}
