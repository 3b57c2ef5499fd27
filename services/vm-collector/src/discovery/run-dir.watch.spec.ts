import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirWatch } from './run-dir.watch';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(10);
  assert.ok(done(), `not within 2 s: ${what}`);
}

test('a file written or removed in the run directory is signalled; nothing else is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-dir-watch-'));
  let changes = 0;
  const watch = new RunDirWatch(dir, () => (changes += 1));
  try {
    assert.equal(watch.ensure(), true);
    assert.equal(watch.active(), true);
    await sleep(100);
    assert.equal(changes, 0, 'an unchanged directory is silent');
    writeFileSync(join(dir, 'vm-1.pid'), '4242');
    await until('the start', () => changes > 0);
    const afterStart = changes;
    unlinkSync(join(dir, 'vm-1.pid'));
    await until('the stop', () => changes > afterStart);
  } finally {
    watch.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(watch.active(), false);
});

test('a directory that cannot be watched leaves the watch inactive, with the reason', () => {
  const watch = new RunDirWatch('/nonexistent/run/libvirt/qemu', () => undefined);
  assert.equal(watch.ensure(), false);
  assert.equal(watch.active(), false);
  assert.match(watch.error() ?? '', /ENOENT/);
});
