#!/usr/bin/env node
// Every workspace declares the packages it imports (run by `npm run lint`).
//   - A package imported anywhere in a workspace (sources, specs, benches, scripts) is in its
//     package.json: dependencies, devDependencies, peerDependencies or optionalDependencies.
//   - A package imported by code that ships (src/, less specs, fixtures and test helpers) is in
//     its dependencies: the images install `npm ci --omit=dev`.
// The root package.json is the workspace of bench/ and scripts/ (and of the lint config).
// Node's built-in modules need no declaration. Prints one line per finding; exit 1 if any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const rootPackage = readJson(join(root, 'package.json'));
const SOURCE = /\.(ts|tsx|mts|cts|mjs|cjs|js)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.stack', '.git', 'coverage']);
const BUILTIN = new Set(builtinModules);
function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The workspace folders of the root package.json (`libs/*` and the like, expanded). */
function workspaceDirs() {
  const dirs = [];
  for (const pattern of rootPackage.workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      for (const entry of readdirSync(parent)) {
        const dir = join(parent, entry);
        if (statSync(dir).isDirectory() && exists(join(dir, 'package.json'))) dirs.push(dir);
      }
    } else if (exists(join(root, pattern, 'package.json'))) {
      dirs.push(join(root, pattern));
    }
  }
  return dirs;
}

function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function* sourceFiles(dir, skip) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !skip.has(path)) yield* sourceFiles(path, skip);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

/** The module specifiers a file imports (import, export … from, import(), require()). */
function specifiersOf(text) {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** 'pkg/sub' → 'pkg', '@scope/pkg/sub' → '@scope/pkg'; null for relative and built-in. */
function packageOf(specifier) {
  // preProcessFile also reports calls like `cursors.require('a\nb')`: only package-like names.
  if (!/^(@[a-z0-9~][\w.~-]*\/)?[a-z0-9~][\w.~-]*(\/[^\s]*)?$/i.test(specifier)) return null;
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) {
    return null;
  }
  if (BUILTIN.has(specifier) || BUILTIN.has(specifier.split('/')[0])) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Code that ships: under src/, not a spec, fixture or test helper. */
function ships(workspaceDir, file) {
  const path = relative(workspaceDir, file).split(sep).join('/');
  if (!path.startsWith('src/')) return false;
  if (/\.spec\.[a-z]+$/.test(path) || /[.-]fixtures\.[a-z]+$/.test(path)) return false;
  if (path === 'src/testing.ts' || path.startsWith('src/testing/')) return false;
  return true;
}

const TEST_ONLY_WORKSPACES = new Set(['@metering/testing', '@metering/pipeline-harness']);
const findings = [];

function check(dir, pkg, skip) {
  const runtime = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ]);
  const declared = new Set([...runtime, ...Object.keys(pkg.devDependencies ?? {}), pkg.name]);
  // Test libraries and e2e never ship: their src/ is test code.
  const shipsAtAll = !TEST_ONLY_WORKSPACES.has(pkg.name) && pkg.name !== '@metering/e2e';
  for (const file of sourceFiles(dir, skip)) {
    const seen = new Set();
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      const name = packageOf(specifier);
      if (name === null || seen.has(name)) continue;
      seen.add(name);
      const where = relative(root, file);
      if (!declared.has(name)) {
        findings.push(`${where}: imports ${name}, which ${pkg.name} does not declare`);
      } else if (shipsAtAll && ships(dir, file) && !runtime.has(name) && name !== pkg.name) {
        findings.push(
          `${where}: shipped code imports ${name}, a devDependency of ${pkg.name} (move it to dependencies)`,
        );
      }
    }
  }
}

const workspaces = workspaceDirs();
for (const dir of workspaces) check(dir, readJson(join(dir, 'package.json')), new Set());
// The root: everything outside the workspaces (bench/, scripts/, the lint config).
check(root, rootPackage, new Set(workspaces));

for (const finding of findings) console.error(finding);
if (findings.length > 0) {
  console.error(
    `${findings.length} undeclared import(s): declare each in its workspace's package.json.`,
  );
  process.exit(1);
}
console.log(`dependencies declared: ${workspaces.length + 1} workspaces checked`);
