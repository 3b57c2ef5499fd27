// Runs a benchmark written in TypeScript inside a workspace (typed and linted with it): builds the
// workspace, then runs `<workspace>/dist/bench/<name>.bench.js` with this process's arguments and
// exits with its status. The bench/*.mjs wrappers are one call each. SIGINT and SIGTERM are passed
// on, so a stopped bench still removes what it made (its containers, topics, cgroups).
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Builds `workspace` (e.g. services/docker-collector) and runs its bench `name`. */
export function runTsBench(workspace, name) {
  const build = spawnSync('npx', ['tsc', '-b', workspace], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', `${workspace}/dist/bench/${name}.bench.js`, ...process.argv.slice(2)],
    { cwd: root, stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) =>
    process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal])),
  );
}
