import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Rating's process runs its ledger on node-postgres's pool and migrates in a worker thread
// (libs/ledger ledger-pool.ts): TypeORM's modules, and the live heap each full collection would
// mark again, stay out of its isolate (docs/adr/0014-rating-scale-out.md).

/** The modules a fresh process has loaded once it required `entry`. */
function modulesLoadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
  ) as string[];
}

test("rating's application loads no TypeORM module, and pg for its ledger", () => {
  const loaded = modulesLoadedBy(join(__dirname, 'app.module.js'));
  assert.ok(loaded.length > 100, `the application's modules were loaded (${loaded.length})`);
  assert.deepEqual(
    loaded.filter((m) => m.includes('/typeorm/')),
    [],
  );
  assert.ok(loaded.some((m) => m.includes('/pg/lib/')));
  assert.ok(loaded.some((m) => m.endsWith('ledger-pool.js')));
});
