import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withTempDir } from '../test/spool.fixtures';
import { StateFile } from './state-file';

// The collectors' state file on a real filesystem: whole writes, faults reported, never thrown.

test('written whole and read back; no temporary file left; a missing file is none', () =>
  withTempDir(async (dir) => {
    const file = new StateFile(join(dir, 'followed', 'x.json'), 1024);
    assert.deepEqual(file.read(), { kind: 'none' });
    file.write('{"a":"ωμέγα"}', true);
    file.write('{"a":"株式会社"}', false);
    assert.deepEqual(file.read(), { kind: 'text', text: '{"a":"株式会社"}' });
    assert.deepEqual(readdirSync(join(dir, 'followed')), ['x.json']);
    // Bytes as given (the samples' JSON the publisher made), whole, multi-byte text intact.
    const bytes = Buffer.from(`{"a":"${'ω'.repeat(400)}"}`, 'utf8');
    file.write(bytes.subarray(0, bytes.length), true);
    assert.deepEqual(file.read(), { kind: 'text', text: bytes.toString('utf8') });
    await Promise.resolve();
  }));

test('too large (by its size, unread), NUL bytes, a directory: unusable with the reason', () =>
  withTempDir(async (dir) => {
    const path = join(dir, 'x.json');
    const file = new StateFile(path, 1024);
    writeFileSync(path, '');
    truncateSync(path, 1025);
    assert.match(unusable(file), /1025 bytes, more than the 1024/);
    writeFileSync(path, Buffer.alloc(100));
    assert.match(unusable(file), /NUL bytes/);
    writeFileSync(path, '{"ok":1}\u0000');
    assert.match(unusable(file), /NUL bytes/);
    const asDir = new StateFile(join(dir, 'sub'), 1 << 20);
    mkdirSync(join(dir, 'sub'));
    assert.match(unusable(asDir), /cannot be read|cannot be opened/);
    assert.throws(() => asDir.write('{}', true));
    await Promise.resolve();
  }));

function unusable(file: StateFile): string {
  const read = file.read();
  assert.equal(read.kind, 'unusable');
  return read.kind === 'unusable' ? read.problem : '';
}
