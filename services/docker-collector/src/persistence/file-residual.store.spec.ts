import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PersistedParent, type ResidualRecord } from '../collector/collector.ports';
import { FileResidualStore } from './file-residual.store';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'residual-file-'));
  dirs.push(dir);
  return dir;
};

const parent: PersistedParent = {
  path: '/metering/acme',
  location: { version: 'v2', dir: '/sys/fs/cgroup/metering/acme' },
  tenantId: 'acme',
  identity: null,
  previous: { ns: '123', doneAt: 1_000.5 },
  publishedCount: 2,
  lastPublishedNs: '40',
  lastPublishedAt: 999,
  residual: { baselineNs: '100', baselineAt: 1, endedSum: '0', published: '40', children: [] },
};
const adopt: ResidualRecord = { kind: 'adopt', parent: parent.path, child: 'c@t', base: '0' };
const published: ResidualRecord = {
  kind: 'published',
  parent: parent.path,
  child: 'c@t',
  at: 1_200.25,
  cpuNs: '18446744073709551616',
};

describe('FileResidualStore', () => {
  test('nothing saved yet: null', () => {
    assert.equal(new FileResidualStore(tempDir(), 'b').load(), null);
  });

  test('the snapshot and the records after it come back as written', () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.append(adopt); // before any snapshot: belongs to none
    store.save([parent]);
    store.append(adopt);
    store.append(published);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load(), {
      parents: [parent],
      records: [adopt, published],
    });
  });

  test('a snapshot empties the records; records of an earlier generation are ignored', () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.save([parent]);
    store.append(adopt);
    const stale = readFileSync(join(dir, 'records.jsonl'), 'utf8');
    store.save([parent]);
    assert.equal(readFileSync(join(dir, 'records.jsonl'), 'utf8'), '');
    // A crash between the new snapshot's rename and the truncation leaves the old records.
    appendFileSync(join(dir, 'records.jsonl'), stale);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load()?.records, []);
  });

  test('a torn last line (a crash mid-write) is ignored', () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.save([parent]);
    store.append(adopt);
    store.close();
    appendFileSync(join(dir, 'records.jsonl'), '{"kind":"published","par');
    assert.deepEqual(new FileResidualStore(dir, 'b').load()?.records, [adopt]);
  });

  test('another boot or another format version: null', () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.save([parent]);
    store.close();
    assert.equal(new FileResidualStore(dir, 'rebooted').load(), null);
    const file = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as object;
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ ...file, version: 99 }));
    assert.equal(new FileResidualStore(dir, 'b').load(), null);
  });

  test('a record that cannot be written removes the snapshot until the next one', () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.save([parent]);
    store.close();
    // The records file cannot be opened for appending (a directory in its place).
    rmSync(join(dir, 'records.jsonl'));
    mkdirSync(join(dir, 'records.jsonl'));
    assert.throws(() => store.append(adopt), { code: 'EISDIR' });
    assert.equal(existsSync(join(dir, 'snapshot.json')), false, 'nothing to restore from');
    assert.doesNotThrow(() => store.append(published), 'later records wait for a snapshot');
    rmSync(join(dir, 'records.jsonl'), { recursive: true });
    store.save([parent]);
    store.append(published);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load(), {
      parents: [parent],
      records: [published],
    });
  });
});
