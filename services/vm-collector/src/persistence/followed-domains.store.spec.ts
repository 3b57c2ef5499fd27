import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FollowedInstance, encodeFollowed } from '../sampling';
import { FollowedDomainsStore, MAX_FOLLOWED_FILE_BYTES } from './followed-domains.store';

// The state file on a real filesystem: written whole, read back, and every bad shape of it
// (truncated, NUL-filled, huge, not ours) reported as unusable, never thrown.

const T = new Date('2026-11-26T13:00:00.000Z');
const instance: FollowedInstance = {
  uri: 'qemu:///system',
  uuid: '11111111-2222-4333-8444-555555555555',
  domainId: 5,
  instanceId: '11111111-2222-4333-8444-555555555555@0123456789abcdef',
  startedAt: T,
  cpuBaselineNs: 18_446_744_073_709_551_615n,
  bootKey: 'boot-1:1000',
  lastPublishedAt: T,
  last: {
    uri: 'qemu:///system',
    host: 'kvm-ωμέγα',
    uuid: '11111111-2222-4333-8444-555555555555',
    name: 'vm-株式会社',
    domainId: 5,
    state: 'running',
    cpuTimeNs: 123_456_789_012n,
    vcpus: 1,
    memoryBytes: 134_217_728,
    maxMemoryBytes: 268_435_456,
    tenantId: 'acme',
    flavour: null,
    processExpected: true,
    process: { pid: 42, bootKey: 'boot-1:1000', startedAt: T, memoryBytes: null },
    observedAt: new Date(T.getTime() + 1000),
  },
};

function withDir(run: (dir: string, store: FollowedDomainsStore) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'vmc-followed-'));
  try {
    const dir = join(root, 'followed');
    run(dir, new FollowedDomainsStore(dir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('no file: nothing to restore', () => {
  withDir((_dir, store) => assert.deepEqual(store.load(), { kind: 'none' }));
});

test('saved and loaded back as it was, synced or not; no temporary file is left', () => {
  withDir((dir, store) => {
    store.save([instance], true);
    assert.deepEqual(store.load(), { kind: 'loaded', instances: [instance] });
    store.save([], false);
    assert.deepEqual(store.load(), { kind: 'loaded', instances: [] });
    assert.deepEqual(readdirSync(dir), ['domains.json']);
  });
});

test('a temporary file left by a crash mid-write does not matter: the last whole file is read', () => {
  withDir((dir, store) => {
    store.save([instance], true);
    writeFileSync(join(dir, 'domains.json.tmp'), '{"version":1,"inst');
    assert.deepEqual(store.load(), { kind: 'loaded', instances: [instance] });
    store.save([], true);
    assert.equal(existsSync(join(dir, 'domains.json.tmp')), false);
  });
});

const whole = encodeFollowed([instance]);
const bad: [string, string | Buffer, RegExp][] = [
  ['truncated', whole.slice(0, Math.floor(whole.length / 2)), /not JSON/],
  ['empty', '', /not JSON/],
  ['NUL-filled', Buffer.alloc(4096), /NUL bytes/],
  ['a NUL inside', whole.replace('acme', 'ac\u0000me'), /NUL bytes/],
  ['not UTF-8 JSON', Buffer.from([0xff, 0xfe, 0x7b]), /not JSON/],
  ['another version', whole.replace('"version":1', '"version":2'), /version/],
  ['an array', '[]', /file/],
  ['null', 'null', /file/],
  [
    'a negative domain id',
    whole.replace('"domainId":5', '"domainId":-5'),
    /instances\.0\.domainId/,
  ],
  ['a counter as a number', whole.replace('"123456789012"', '123456789012'), /cpuTimeNs/],
  ['a counter with a sign', whole.replace('"123456789012"', '"-1"'), /cpuTimeNs/],
  ['a bad time', whole.replace('2026-11-26T13:00:01.000Z', 'tomorrow'), /observedAt/],
  ['a huge name', whole.replace('vm-株式会社', 'n'.repeat(5000)), /name/],
  ['a missing field', whole.replace('"bootKey":"boot-1:1000",', ''), /bootKey/],
];

for (const [name, content, problem] of bad) {
  test(`a ${name} file is reported unusable, not thrown`, () => {
    withDir((dir, store) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'domains.json'), content);
      const loaded = store.load();
      assert.equal(loaded.kind, 'unusable');
      assert.match(loaded.kind === 'unusable' ? loaded.problem : '', problem);
      // The next save replaces it.
      store.save([instance], false);
      assert.equal(store.load().kind, 'loaded');
    });
  });
}

test('a file larger than the bound is refused by its size, without reading it', () => {
  withDir((dir, store) => {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'domains.json');
    writeFileSync(path, '');
    truncateSync(path, MAX_FOLLOWED_FILE_BYTES + 1); // sparse: no disk used
    const loaded = store.load();
    assert.equal(loaded.kind, 'unusable');
    assert.match(loaded.kind === 'unusable' ? loaded.problem : '', /more than the/);
  });
});

test('a directory where the file should be is unusable, not a crash', () => {
  withDir((dir, store) => {
    mkdirSync(join(dir, 'domains.json'), { recursive: true });
    assert.equal(store.load().kind, 'unusable');
    assert.throws(() => store.save([], true));
  });
});
