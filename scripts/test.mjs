#!/usr/bin/env node
// Runs every test: checks formatting, builds the workspaces, lints them, starts the local
// infrastructure the integration tests need (unless --unit), then node's own test runner over
// the compiled specs. Prints node's report, then one closing line `N passed, N failed, N skipped`
// for CI; a formatting, lint or build failure ends the run with `0 passed, 1 failed`.
//   node scripts/test.mjs            all tests (unit + integration against the real parts)
//   node scripts/test.mjs --unit     unit specs only (*.spec.ts that are not *.int.spec.ts)
//   node scripts/test.mjs [--unit] <substring>...   only spec files whose path contains one of
//                                    them (without the formatting and lint checks)
//   --skip-checks                    no formatting and lint checks (`npm run check` ran them)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));
// The habits CI enforces: formatting and lint fail a whole run like a failing test.
const checks = filters.length === 0 && !args.includes('--skip-checks');
const stackDir = process.env.STACK_DIR ?? join(root, '.stack');
mkdirSync(stackDir, { recursive: true });

function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

/** A step before the specs failed: say which, and end with the closing line CI reads. */
function stop(what) {
  console.log(what);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// npm packages and build prerequisites (fast when package-lock.json is unchanged).
if (run('bash', ['infra/local/deps.sh', 'install']) !== 0) stop('Installing dependencies failed.');

if (checks) {
  console.log('Checking formatting (prettier --check .)…');
  if (run('npx', ['prettier', '--check', '--log-level=warn', '.']) !== 0) {
    stop('Formatting check failed: `npm run format` rewrites the files listed above.');
  }
}

if (!unitOnly && process.env.SKIP_STACK !== '1') {
  console.log(
    'Starting the local infrastructure the integration tests need (npm run stack -- --infra)…',
  );
  // A part that fails to start is reported by the stack; its tests then fail with a clear message.
  run('bash', ['infra/local/stack.sh', 'up', '--infra']);
}

console.log('Building (tsc -b)…');
if (run('npx', ['tsc', '-b', 'tsconfig.build.json']) !== 0) stop('Build failed.');
// After the build: typed lint rules read the other workspaces' declarations from dist/.
if (checks) {
  console.log('Linting (eslint ., every workspace declares what it imports)…');
  if (run('npm', ['run', '--silent', 'lint']) !== 0) stop('Lint failed: see the findings above.');
}
// The tenant portal's web app (Vite): billing-api serves it, the browser tests load it.
if (!unitOnly && run('npm', ['run', '--silent', 'build', '-w', '@metering/portal']) !== 0) {
  stop('The portal build failed.');
}

/** Compiled specs whose TypeScript source still exists (a deleted spec leaves stale output). */
function findSpecs() {
  const packages = ['libs', 'services']
    .flatMap((d) =>
      existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(root, d, p)) : [],
    )
    .concat(['infra/local', 'infra/deploy', 'infra/grafana-test', 'e2e'].map((p) => join(root, p)));
  const specs = [];
  for (const pkg of packages) {
    const dist = join(pkg, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of readdirSync(dist, { recursive: true })) {
      const f = String(file);
      if (!f.endsWith('.spec.js') || f.includes('node_modules')) continue;
      if (!existsSync(join(pkg, f.replace(/\.js$/, '.ts')))) continue;
      if (unitOnly && f.endsWith('.int.spec.js')) continue;
      const path = join(dist, f);
      if (filters.length > 0 && !filters.some((x) => relative(root, path).includes(x))) continue;
      specs.push(path);
    }
  }
  return specs.sort();
}

const specs = findSpecs();
if (specs.length === 0) {
  console.log('No spec files found.');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const tapFile = process.env.TEST_REPORT ?? join(stackDir, 'test-report.tap');
const status = run(process.execPath, [
  '--enable-source-maps',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 300000}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
  ...specs.map((s) => relative(root, s)),
]);

// The TAP report ends with `# pass N`, `# fail N`, `# cancelled N`, `# skipped N`, `# todo N`.
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled') + (tap === '' && status !== 0 ? 1 : 0);
const skipped = count('skipped') + count('todo');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
