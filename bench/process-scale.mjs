#!/usr/bin/env node
// bench/process-scale — docker-collector as a whole process at 1,000 and 10,000 containers; the code is TypeScript in
// services/docker-collector/bench/process-scale.bench.ts (typed and linted with the service).
// Builds it, then runs it with the arguments given here. Prints figures; asserts nothing.
//   node bench/process-scale.mjs [--option value]…   (or: npm run bench:process-scale -w @metering/docker-collector)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const build = spawnSync('npx', ['tsc', '-b', 'services/docker-collector'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    'services/docker-collector/dist/bench/process-scale.bench.js',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(run.status ?? 1);
