import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeldFileReader, heldFileBudget } from './held-file.reader';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'held-files-'));
}

test('a held file is read afresh each time, and stays open between reads', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'cpuacct.usage');
    writeFileSync(path, '123\n');
    const reader = new HeldFileReader({ maxHeld: 8, idleCloseMs: 60_000 });
    assert.equal(reader.read(path), '123\n');
    assert.equal(reader.heldCount, 1);
    writeFileSync(path, '4567890\n');
    assert.equal(reader.read(path), '4567890\n');
    writeFileSync(path, '9\n'); // shorter than before: no stale tail
    assert.equal(reader.readSync(path), '9\n');
    assert.equal(reader.heldCount, 1);
    reader.close();
    assert.equal(reader.heldCount, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files beyond the budget are read by path; a budget of 0 holds nothing', () => {
  const dir = tmp();
  try {
    const paths = [0, 1, 2].map((i) => join(dir, `f${i}`));
    paths.forEach((p, i) => writeFileSync(p, `v${i}\n`));
    const reader = new HeldFileReader({ maxHeld: 2, idleCloseMs: 60_000 });
    assert.deepEqual(
      paths.map((p) => reader.read(p)),
      ['v0\n', 'v1\n', 'v2\n'],
    );
    assert.equal(reader.heldCount, 2);
    writeFileSync(paths[2]!, 'changed\n');
    assert.equal(reader.read(paths[2]!), 'changed\n');
    const none = new HeldFileReader({ maxHeld: 0, idleCloseMs: 60_000 });
    assert.equal(none.read(paths[0]!), 'v0\n');
    assert.equal(none.heldCount, 0);
    reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file throws ENOENT and is not held; large and non-ASCII files read whole', () => {
  const dir = tmp();
  try {
    const reader = new HeldFileReader({ maxHeld: 8, idleCloseMs: 60_000 });
    assert.throws(() => reader.read(join(dir, 'nope')), { code: 'ENOENT' });
    assert.equal(reader.heldCount, 0);
    // Bigger than the initial 16 KiB buffer (memory.stat of a large cgroup tree), and a
    // multi-byte character across the first buffer boundary.
    const big = `${'total_cache 1\n'.repeat(3000)}é€😀\0end\n`;
    const path = join(dir, 'memory.stat');
    writeFileSync(path, big);
    assert.equal(reader.read(path), big);
    assert.equal(reader.read(path), big);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    assert.equal(reader.read(empty), '');
    reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files not read within idleCloseMs are closed by the sweep, and reopened when read again', () => {
  const dir = tmp();
  try {
    let now = 1_000;
    const reader = new HeldFileReader({ maxHeld: 8, idleCloseMs: 300, now: () => now });
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, 'a\n');
    writeFileSync(b, 'b\n');
    reader.read(a);
    now += 200;
    reader.read(b);
    now += 200; // a idle 400 ms, b 200 ms
    reader.sweep();
    assert.equal(reader.heldCount, 1);
    assert.equal(reader.read(a), 'a\n');
    assert.equal(reader.heldCount, 2);
    reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the budget is the configured one, capped at a quarter of the soft open-files limit', () => {
  const limits = (soft: string): string =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                20000                files\n`;
  assert.equal(heldFileBudget(4096, limits('20000')), 4096);
  assert.equal(heldFileBudget(4096, limits('1024')), 768);
  assert.equal(heldFileBudget(30_000, limits('20000')), 15_904);
  assert.equal(heldFileBudget(200_000, limits('131072')), 126_976);
  assert.equal(heldFileBudget(4096, limits('300')), 44);
  assert.equal(heldFileBudget(4096, limits('unlimited')), 4096);
  assert.equal(heldFileBudget(4096, null), 4096);
  assert.equal(heldFileBudget(4096, 'garbage\0\n'), 4096);
  assert.equal(heldFileBudget(0, limits('20000')), 0);
  assert.equal(heldFileBudget(4096, limits('3')), 0);
});
