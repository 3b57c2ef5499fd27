#!/usr/bin/env node
// Prints the production build's size: every file in dist/, raw and gzip (level 9), and the
// total a first visit downloads (index.html, its script, its style sheet).
//   npm run build -w @metering/portal && npm run size -w @metering/portal
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let all;
try {
  all = files(dist).sort();
} catch {
  console.error(`${dist} is missing: run npm run build -w @metering/portal first`);
  process.exit(1);
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
let raw = 0;
let gz = 0;
console.log('file'.padEnd(40), 'raw'.padStart(12), 'gzip'.padStart(12));
for (const path of all) {
  const bytes = readFileSync(path);
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += zipped;
  console.log(
    relative(dist, path).padEnd(40),
    kib(bytes.length).padStart(12),
    kib(zipped).padStart(12),
  );
}
console.log('total'.padEnd(40), kib(raw).padStart(12), kib(gz).padStart(12));
