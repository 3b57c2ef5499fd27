import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The modules the usage producer thread's script loads, as a process that requires it outside a
 * worker thread sees them (the script's main() then refuses to run, after its imports).
 */
function modulesLoadedBy(script: string): string[] {
  const code = [
    "process.on('exit', () => process.stdout.write(JSON.stringify(Object.keys(require.cache))));",
    "process.on('unhandledRejection', () => process.exit(0));",
    `require(${JSON.stringify(script)});`,
  ].join('\n');
  const run = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as string[];
}

test('the usage producer thread loads kafkajs and pino, not the packages that only the main thread needs', () => {
  const modules = modulesLoadedBy(join(__dirname, 'usage-producer.worker.js'));
  const packages = new Set(
    modules.map((path) => {
      const at = path.lastIndexOf('/node_modules/');
      if (at < 0) return /\/(libs|services)\/([^/]+)\//.exec(path)?.slice(1).join('/') ?? path;
      const [scope, name] = path.slice(at + '/node_modules/'.length).split('/');
      return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
    }),
  );
  // What the thread does: a kafkajs producer, logging through pino.
  for (const needed of ['kafkajs', 'pino', 'libs/kafka'])
    assert.ok(packages.has(needed), `${needed} is loaded (${[...packages].join(', ')})`);
  // What the packages' indexes would bring (26 MB of the thread's isolate, ADR 14).
  for (const unwanted of [
    'zod',
    '@nestjs/common',
    '@nestjs/core',
    'rxjs',
    'prom-client',
    'typeorm',
    'pg',
    'libs/contracts',
  ])
    assert.ok(!packages.has(unwanted), `${unwanted} is not loaded by the producer thread`);
  assert.ok(modules.length < 400, `${modules.length} modules`);
});
