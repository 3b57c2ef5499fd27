import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
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

/** The records files in the store's directory, by generation. */
const recordFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith('records-'))
    .sort();
const snapshotGeneration = (dir: string): number =>
  (JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as { generation: number })
    .generation;

describe('FileResidualStore', () => {
  test('nothing saved yet: null', () => {
    assert.equal(new FileResidualStore(tempDir(), 'b').load(), null);
  });

  test('the snapshot and the records after it come back as written', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    store.append(adopt); // before any snapshot: belongs to none
    await store.save([parent]);
    store.append(adopt);
    store.append(published);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load(), {
      parents: [parent],
      records: [adopt, published],
    });
  });

  test('a snapshot empties the records; records of an earlier generation are ignored', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    store.append(adopt);
    const [staleFile] = recordFiles(dir);
    const stale = readFileSync(join(dir, staleFile!), 'utf8');
    await store.save([parent]);
    assert.deepEqual(recordFiles(dir), [], 'the records are in the snapshot');
    // A crash between the new snapshot's rename and the removal leaves the old records.
    writeFileSync(join(dir, staleFile!), stale);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load()?.records, []);
  });

  test('a torn last line (a crash mid-write) is ignored', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    store.append(adopt);
    store.close();
    appendFileSync(join(dir, recordFiles(dir)[0]!), '{"kind":"published","par');
    const restarted = new FileResidualStore(dir, 'b');
    assert.deepEqual(restarted.load()?.records, [adopt]);
    // The restarted store does not append after the torn line: its records still read.
    restarted.append(published);
    restarted.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load()?.records, [adopt, published]);
  });

  test('another boot or another format version: null', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    store.close();
    assert.equal(new FileResidualStore(dir, 'rebooted').load(), null);
    const file = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as object;
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ ...file, version: 99 }));
    assert.equal(new FileResidualStore(dir, 'b').load(), null);
  });

  test('a record that cannot be written removes the snapshot until the next one', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    store.close();
    // The records file cannot be opened for appending (a directory in its place).
    const blocked = join(dir, `records-${snapshotGeneration(dir)}.jsonl`);
    mkdirSync(blocked);
    assert.throws(() => store.append(adopt), { code: 'EISDIR' });
    assert.equal(existsSync(join(dir, 'snapshot.json')), false, 'nothing to restore from');
    assert.doesNotThrow(() => store.append(published), 'later records wait for a snapshot');
    rmSync(blocked, { recursive: true });
    await store.save([parent]);
    store.append(published);
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load(), {
      parents: [parent],
      records: [published],
    });
  });

  test('records from before per-generation files (records.jsonl) are still replayed, then removed', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    store.close();
    const g = snapshotGeneration(dir);
    writeFileSync(join(dir, 'records.jsonl'), `${JSON.stringify({ ...adopt, g })}\n`);
    const restarted = new FileResidualStore(dir, 'b');
    assert.deepEqual(restarted.load()?.records, [adopt]);
    await restarted.save([parent]);
    restarted.close();
    assert.equal(existsSync(join(dir, 'records.jsonl')), false);
  });

  test('a snapshot asked for while one is written: one write at a time, the newest wins, a crash at any moment loses nothing', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    const older = { ...parent, publishedCount: 3 };
    const newer = { ...parent, publishedCount: 4 };
    const newest = { ...parent, publishedCount: 5 };
    const written = store.snapshotsWritten;
    // The first write is in flight when the next two come; the caller is not held up.
    const first = store.save([older]);
    store.append(adopt);
    const second = store.save([newer]);
    store.append(published);
    const third = store.save([newest]);
    const ended: ResidualRecord = { kind: 'ended', parent: parent.path, child: 'c@t' };
    store.append(ended);
    // A crash now (nothing awaited yet): the snapshot on disk and every record after it.
    const crashed = new FileResidualStore(dir, 'b').load();
    assert.deepEqual(crashed?.parents, [parent], 'the old snapshot, complete');
    assert.deepEqual(crashed?.records, [adopt, published, ended]);
    await Promise.all([first, second, third]);
    assert.equal(store.snapshotsWritten - written, 2, 'the in-flight one and the newest only');
    store.close();
    assert.deepEqual(new FileResidualStore(dir, 'b').load(), {
      parents: [newest],
      records: [ended],
    });
    assert.equal(existsSync(join(dir, 'snapshot.json.tmp')), false);
    assert.deepEqual(recordFiles(dir), [`records-${snapshotGeneration(dir)}.jsonl`]);
  });

  test('a record lost while a snapshot taken before it is written: that snapshot does not stand', async () => {
    const dir = tempDir();
    const store = new FileResidualStore(dir, 'b');
    await store.save([parent]);
    const blocked = join(dir, `records-${snapshotGeneration(dir) + 1}.jsonl`);
    const inFlight = store.save([{ ...parent, publishedCount: 9 }]);
    mkdirSync(blocked);
    assert.throws(() => store.append(adopt), { code: 'EISDIR' });
    await inFlight;
    assert.equal(existsSync(join(dir, 'snapshot.json')), false, 'nothing to restore from');
    store.close();
    rmSync(blocked, { recursive: true });
    assert.equal(new FileResidualStore(dir, 'b').load(), null);
  });
});
