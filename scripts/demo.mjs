#!/usr/bin/env node
// `npm run demo`: makes sure the local infrastructure is up (quietly; its output is shown only
// when a part fails), builds, then runs e2e/'s demo with the arguments given after `--`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
// Ctrl-C reaches the demo too, which removes its containers, domain and services: wait for it.
process.on('SIGINT', () => {});
const run = (cmd, args, opts = {}) =>
  spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

console.log('Checking the local infrastructure (npm run stack -- --infra)…');
if (run('bash', ['infra/local/deps.sh', 'install']).status !== 0) process.exit(1);
const stack = run('bash', ['infra/local/stack.sh', 'up', '--infra'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (stack.status !== 0) {
  process.stdout.write(stack.stdout ?? '');
  process.stderr.write(stack.stderr ?? '');
  console.error('demo: the local infrastructure is not complete (above); fix it and run again');
  process.exit(1);
}
console.log('Building (tsc -b)…');
if (run('npx', ['tsc', '-b', 'tsconfig.build.json']).status !== 0) process.exit(1);
const demo = run(process.execPath, [
  '--enable-source-maps',
  join(root, 'e2e', 'dist', 'src', 'demo.js'),
  ...process.argv.slice(2),
]);
process.exit(demo.status ?? 1);
