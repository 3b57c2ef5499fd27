#!/usr/bin/env node
// Where a process's CPU went, from a V8 .cpuprofile (node --cpu-prof): self time by function and by
// package (the node_modules package, the workspace service or lib, node's internals, V8's own
// (garbage collector), (program), (idle)), and the inclusive time of the functions named. A script
// to read profiles, not a test.
//
//   node bench/cpu-profile-summary.mjs DIR-or-FILE.cpuprofile [--top N] [--inclusive NAME ...]
//
// rating-throughput.mjs --cpu-prof DIR writes the rating process's profiles into DIR.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '40' },
    inclusive: { type: 'string', multiple: true, default: [] },
    // Only the samples from the first one with this function on its stack on (e.g. decodeBatch:
    // leaves the start-up out).
    'from-function': { type: 'string' },
  },
});

const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);
for (const file of files) summarise(file);

/** The package of a script URL: node_modules/<pkg>, services/<x>, libs/<x>, node:<x>. */
function packageOf(url) {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node (internals)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    // Workspace packages are symlinked: their real paths are under libs/ or services/.
    return name;
  }
  const m = /\/(services|libs)\/([^/]+)\//.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  return url;
}

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time of each node: the sum of its samples' time deltas.
  const self = new Map();
  let total = 0;
  let skipped = 0;
  let started = opts['from-function'] === undefined;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (!started) {
      for (let n = profile.samples[i]; n !== undefined && !started; n = parent.get(n))
        started = byId.get(n).callFrame.functionName === opts['from-function'];
      if (!started) {
        skipped += dt;
        continue;
      }
    }
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const byFunction = new Map();
  const byPackage = new Map();
  const inclusive = new Map(opts.inclusive.map((n) => [n, 0]));
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const pkg = callFrame.functionName.startsWith('(')
      ? callFrame.functionName
      : packageOf(callFrame.url);
    const fn = `${callFrame.functionName || '(anonymous)'} ${pkg.startsWith('(') ? '' : `${callFrame.url.replace(/^.*\/(node_modules|services|libs)\//, '$1/')}:${callFrame.lineNumber + 1}`}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    if (inclusive.size > 0) {
      // Once per named function on the stack (recursion counted once).
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const name = byId.get(n).callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name) + us);
        }
      }
    }
  }
  const idle = byPackage.get('(idle)') ?? 0;
  const s = (us) => (us / 1e6).toFixed(2).padStart(7);
  console.log(
    `\n${file}: ${s(total)} s profiled, ${s(total - idle)} s not idle${skipped > 0 ? ` (${s(skipped)} s before ${opts['from-function']} left out)` : ''}`,
  );
  console.log('  self time by package (s):');
  for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`  ${s(v)}  ${k}`);
  console.log(`  self time by function, the top ${opts.top} (s):`);
  for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top)))
    console.log(`  ${s(v)}  ${k}`);
  if (inclusive.size > 0) {
    console.log('  inclusive time (s):');
    for (const [k, v] of inclusive) console.log(`  ${s(v)}  ${k}`);
  }
}
