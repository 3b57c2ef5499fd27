// What a host pays for its metering agents, side by side with the tools they replace (issue 18):
// in one run on this machine, on the same N idle KVM domains and the same M idle containers,
//   - vm-collector          (as configured, then once with each `--env` variant of its settings;
//                           by default POLL_INTERVAL_MS = the 10-s sample interval: no start/stop
//                           watch between samples) against collectd's `virt` plugin (10 s
//                           interval, csv output) and prometheus-libvirt-exporter scraped every
//                           10 s;
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
//                                      [--env 'POLL_INTERVAL_MS=10000' [--env 'K=V K2=V2' …]]
// --env: one more run of vm-collector with these settings over its own (space-separated K=V);
// repeat it for more variants; --env '' alone: none. NODE_OPTIONS is added to the service's own
// (Node refuses --cpu-prof there: profile with --require of a script that uses node:inspector).
// Each row is printed as soon as it is measured (`# row: …`), the tables at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { containerSide, removeContainers } from './lib/agents-container-side.mjs';
import { vmSide } from './lib/agents-vm-side.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { ServicePipeline } = require(join(root, 'libs/pipeline-harness/dist/src/index.js'));
const { localInfra } = require(join(root, 'libs/testing/dist/src/index.js'));
const Docker = require('dockerode');

const { values: opts } = parseArgs({
  options: {
    domains: { type: 'string', default: '4,20' },
    containers: { type: 'string', default: '30,300' },
    window: { type: 'string', default: '60' },
    settle: { type: 'string', default: '20' },
    'no-install': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: ['POLL_INTERVAL_MS=10000'] },
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
/** `--env 'K=V K2=V2'` → { K: 'V', K2: 'V2' }; the value of NODE_OPTIONS keeps its spaces. */
const envOf = (text) => {
  const env = {};
  let key;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(word);
    if (m !== null) {
      key = m[1];
      env[key] = m[2];
    } else if (key === 'NODE_OPTIONS') env[key] += ` ${word}`;
    else throw new Error(`--env: ${word} is not KEY=value`);
  }
  return env;
};
const VM_ENVS = opts.env.map(envOf).filter((env) => Object.keys(env).length > 0);
const WINDOW_S = Number(opts.window);
const SETTLE_S = Number(opts.settle);
if (!(WINDOW_S >= 10 && WINDOW_S <= 3600)) throw new Error('--window: 10..3600 seconds');
if (!(SETTLE_S >= 0 && SETTLE_S <= 600)) throw new Error('--settle: 0..600 seconds');
/** What the two sides share: names, folders, the window, and what to remove if stopped. */
const run = {
  id: `sbs${Date.now().toString(36)}`,
  root,
  tmp: mkdtempSync(join(tmpdir(), 'agents-sbs-')),
  windowS: WINDOW_S,
  settleS: SETTLE_S,
  intervalS: 10,
  libvirtUri: localInfra.libvirtUri,
  vmEnvs: VM_ENVS,
  createdDomains: [],
};

const docker = new Docker({ socketPath: localInfra.dockerSocket });
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const name of run.createdDomains)
    spawnSync('virsh', ['-c', run.libvirtUri, 'destroy', name]);
  await removeContainers(docker, run.id).catch(() => undefined);
  rmSync(run.tmp, { recursive: true, force: true });
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
  for (const n of DOMAIN_COUNTS) await vmSide(run, pipeline, n);
  for (const m of CONTAINER_COUNTS) await containerSide(run, pipeline, docker, m);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (the machine is shared: compare ratios, repeat for spread)`,
  );
} finally {
  await pipeline.stop();
  await cleanUp();
}
