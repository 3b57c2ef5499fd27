#!/usr/bin/env node
// Bytes allocated by function and by package, from .heapprofile files written by
// bench/lib/alloc-profile.cjs (sampled allocations, collected ones included). With --per N: per
// unit of work (e.g. --per 150000 for bytes per sample). A script to read profiles, not a test.
//
//   node bench/alloc-profile-summary.mjs DIR-or-FILE [--per N] [--top N] [--under NAME ...]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    per: { type: 'string', default: '1' },
    top: { type: 'string', default: '40' },
    // Bytes allocated under (inclusive of) these functions.
    under: { type: 'string', multiple: true, default: [] },
  },
});
const per = Number(opts.per);
const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.heapprofile'))
        .map((f) => join(p, f))
    : [p],
);

function packageOf(url) {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node (internals)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/(services|libs)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

for (const file of files) {
  const { head } = JSON.parse(readFileSync(file, 'utf8'));
  const byFunction = new Map();
  const byPackage = new Map();
  const under = new Map(opts.under.map((n) => [n, 0]));
  let total = 0;
  const walk = (node, stack) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const here = [...stack, functionName];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const pkg = packageOf(url);
      const fn = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|services|libs)\//, '$1/')}:${lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.selfSize);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize);
      for (const name of new Set(here))
        if (under.has(name)) under.set(name, under.get(name) + node.selfSize);
    }
    for (const c of node.children) walk(c, here);
  };
  walk(head, []);
  const f = (b) =>
    (per === 1 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / per).toFixed(0)} B`).padStart(9);
  console.log(`\n${file}: ${f(total)} allocated${per === 1 ? '' : ` per unit (÷ ${per})`}`);
  console.log('  by package:');
  for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`  ${f(v)}  ${k}`);
  console.log(`  by function, the top ${opts.top}:`);
  for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top)))
    console.log(`  ${f(v)}  ${k}`);
  if (under.size > 0) {
    console.log('  under (inclusive):');
    for (const [k, v] of under) console.log(`  ${f(v)}  ${k}`);
  }
}
