import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyHeapGrowth } from './heap-growth';

/**
 * Full collections of a child process (rating's 160 MB heap) that promotes objects which live a
 * while and die, as a batch's messages do, with the heap growth applied first.
 */
function majorCollections(percent: number): number {
  const script = `
    require(${JSON.stringify(require.resolve('./heap-growth'))}).applyHeapGrowth(${percent});
    // ~40 MB that stays (the code and state of a service), then chunks that live through a few
    // collections and die (a batch's messages and samples).
    const live = [];
    for (let i = 0; i < 400; i++) live.push(Array.from({ length: 1000 }, (_, j) => ({ j, s: 'p' + i + '.' + j })));
    const kept = [];
    for (let i = 0; i < 3000; i++) {
      kept.push(Array.from({ length: 1000 }, (_, j) => ({ i, j })));
      if (kept.length > 60) kept.shift();
    }
    if (live.length !== 400) process.exit(2);
  `;
  // --trace-gc writes a line per collection, as it happens, to stdout; a young generation of 1 MB
  // promotes whatever lives through two scavenges, as a batch's objects are (V8 would otherwise
  // size it by timing, and the count of full collections with it).
  const out = spawnSync(
    process.execPath,
    ['--max-old-space-size=160', '--max-semi-space-size=1', '--trace-gc', '-e', script],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.split('\n').filter((line) => line.includes('Mark-Compact')).length;
}

test('heap growth: whole percents from 0 to 400, anything else refused', () => {
  for (const bad of [-1, 401, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => applyHeapGrowth(bad), RangeError, String(bad));
  }
});

test('heap growth takes effect on this Node: fewer full collections when the heap may double', () => {
  // Both set, twice each: V8's own factor depends on timing and varies from run to run, a set
  // one does not (here 14 and 5 full collections).
  const tight = [majorCollections(10), majorCollections(10)];
  const doubled = [majorCollections(100), majorCollections(100)];
  assert.ok(Math.min(...tight) >= 10, `growing by 10 %: ${tight.join(', ')} full collections`);
  assert.ok(
    Math.max(...doubled) < Math.min(...tight),
    `doubling: ${doubled.join(', ')} full collections against ${tight.join(', ')}`,
  );
});
