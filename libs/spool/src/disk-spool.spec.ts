import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Lifecycle } from '@metering/contracts';
import { MetricsRegistry } from '@metering/observability';
import { capturedLogger, testLogger, withTempDir } from '../test/spool.fixtures';
import { DiskSpool, type DiskSpoolOptions } from './disk-spool';
import { encodeFrame } from './record.codec';
import { RecordTooLargeError, SpoolLockedError } from './spool.errors';
import { type SpoolRecord, type SpoolRecordInput } from './spool-record';

/** Every test record is 98 bytes on disk: 32 framing + 2 key + 64 value. */
const FRAME = 98;

function rec(key: string, n: number, lifecycle: Lifecycle = 'running'): SpoolRecordInput {
  return {
    key: Buffer.from(key.padEnd(2, '_').slice(0, 2)),
    value: Buffer.from(`${key}:${n}:${lifecycle}`.padEnd(64, '.')),
    lifecycle,
  };
}

function label(record: SpoolRecord): string {
  return record.value.toString().replace(/\.+$/, '');
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('segment-')).sort();
}

function open(dir: string, options: DiskSpoolOptions = {}): Promise<DiskSpool> {
  return DiskSpool.open(dir, {
    logger: testLogger(),
    ...options,
    settings: { segmentBytes: 1024, maxBytes: 64 * 1024, ...options.settings },
  });
}

describe('DiskSpool: append, peek, ack', () => {
  test('records come back in order across segments; ack deletes fully acked segments', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir);
      const input = Array.from({ length: 25 }, (_, i) => rec('a', i));
      await spool.append(input.slice(0, 7));
      await spool.append(input.slice(7));
      assert.equal(spool.depth(), 25);
      assert.equal(spool.bytes(), 25 * FRAME);
      // 10 records of 98 bytes fit a 1024-byte segment.
      assert.deepEqual(await segments(dir), [
        'segment-00000000000000000001.log',
        'segment-00000000000000000002.log',
        'segment-00000000000000000003.log',
      ]);

      const first = await spool.peek(12);
      assert.deepEqual(
        first.map(label),
        Array.from({ length: 12 }, (_, i) => `a:${i}:running`),
      );
      assert.deepEqual(
        first.map((r) => r.seq),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        (await spool.peek(12)).map((r) => r.seq),
        first.map((r) => r.seq),
        'peek does not consume',
      );

      await spool.ack(12);
      assert.equal(spool.depth(), 13);
      assert.deepEqual(await segments(dir), [
        'segment-00000000000000000002.log',
        'segment-00000000000000000003.log',
      ]);
      const rest = await spool.peek(100);
      assert.deepEqual(
        rest.map((r) => r.seq),
        Array.from({ length: 13 }, (_, i) => i + 13),
      );

      await spool.ack(13);
      assert.equal(spool.depth(), 0);
      assert.deepEqual(await spool.peek(10), []);
      assert.deepEqual(await segments(dir), []);
      await spool.append([rec('b', 0)]);
      assert.deepEqual(
        (await spool.peek(10)).map((r) => r.seq),
        [26],
        'sequence continues',
      );
      await spool.close();
    }));

  test('ack beyond the depth is refused; oversized records are refused whole', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir, { settings: { maxRecordBytes: 100 } });
      await spool.append([rec('a', 0)]);
      await assert.rejects(spool.ack(2), /cannot ack 2 records, the spool holds 1/);
      const big = { key: Buffer.from('a'), value: Buffer.alloc(100), lifecycle: 'final' as const };
      await assert.rejects(spool.append([rec('a', 1), big]), RecordTooLargeError);
      assert.equal(spool.depth(), 1, 'nothing of the refused append was written');
      await spool.close();
    }));

  test('a second spool on the same directory is refused until the first closes', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir);
      await assert.rejects(open(dir), SpoolLockedError);
      await spool.close();
      const again = await open(dir);
      await again.close();
    }));
});

describe('DiskSpool: restarts and crashes', () => {
  test('a new spool over the same directory sees the unacked records, in order', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir);
      await spool.append(
        Array.from({ length: 15 }, (_, i) => rec('a', i, i === 0 ? 'start' : 'running')),
      );
      await spool.peek(4);
      await spool.ack(4);
      await spool.close();

      const reopened = await open(dir);
      assert.equal(reopened.depth(), 11);
      const records = await reopened.peek(100);
      assert.deepEqual(
        records.map((r) => r.seq),
        Array.from({ length: 11 }, (_, i) => i + 5),
      );
      assert.equal(label(records[0]!), 'a:4:running');
      await reopened.append([rec('a', 15, 'final')]);
      const all = await reopened.peek(100);
      assert.deepEqual(all.at(-1)!.seq, 16);
      assert.equal(all.at(-1)!.lifecycle, 'final');
      await reopened.close();
    }));

  test('a torn last record is truncated at open; earlier records survive and appends go on', () =>
    withTempDir(async (dir) => {
      const { logger, lines } = capturedLogger();
      const spool = await open(dir, { logger });
      await spool.append(Array.from({ length: 5 }, (_, i) => rec('a', i)));
      await spool.close();
      const [name] = await segments(dir);
      const path = join(dir, name!);
      const intact = (await stat(path)).size;

      // A crash mid-write: the first 40 bytes of a sixth record.
      const torn = encodeFrame({ ...rec('a', 5), seq: 6, appendedAt: Date.now() }).subarray(0, 40);
      await appendFile(path, torn);
      const reopened = await open(dir, { logger });
      assert.equal((await stat(path)).size, intact, 'truncated to the last whole record');
      assert.deepEqual(
        (await reopened.peek(10)).map(label),
        [0, 1, 2, 3, 4].map((i) => `a:${i}:running`),
      );
      assert.ok(lines.some((line) => line.level === 'warn' && /truncating/.test(String(line.msg))));

      await reopened.append([rec('a', 6)]);
      await reopened.close();
      const third = await open(dir);
      assert.deepEqual((await third.peek(10)).map(label).slice(-2), ['a:4:running', 'a:6:running']);
      await third.close();
    }));

  test('garbage and a damaged last record are cut; nothing before them is lost', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir);
      await spool.append(Array.from({ length: 4 }, (_, i) => rec('a', i)));
      await spool.close();
      const [name] = await segments(dir);
      const path = join(dir, name!);

      // Flip a byte in the value of the last record, then add garbage behind it.
      const bytes = await readFile(path);
      bytes[bytes.length - 10]! ^= 0xff;
      await writeFile(path, Buffer.concat([bytes, Buffer.from('garbage after a crash')]));
      const reopened = await open(dir);
      assert.deepEqual((await reopened.peek(10)).map(label), [
        'a:0:running',
        'a:1:running',
        'a:2:running',
      ]);
      assert.equal((await stat(path)).size, 3 * FRAME);
      await reopened.close();

      // A file cut inside the length prefix (fewer than 8 bytes of the last record).
      await truncate(path, 3 * FRAME - FRAME + 5);
      const again = await open(dir);
      assert.deepEqual((await again.peek(10)).map(label), ['a:0:running', 'a:1:running']);
      await again.close();
    }));

  test('leftover temporary files of an interrupted rewrite are ignored and removed', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir);
      await spool.append([rec('a', 0), rec('a', 1)]);
      await spool.close();
      const [name] = await segments(dir);
      await writeFile(join(dir, `${name!}.tmp`), 'half a rewrite');
      const reopened = await open(dir);
      assert.equal(reopened.depth(), 2);
      assert.ok(!(await readdir(dir)).some((file) => file.endsWith('.tmp')));
      await reopened.close();
    }));
});

describe('DiskSpool: the bound and thinning', () => {
  // 41 records of 98 bytes fit in 4096.
  const bounded = { maxBytes: 4096, segmentBytes: 1024 };

  test('a full spool thins the oldest running records, per resource, never start or final', () =>
    withTempDir(async (dir) => {
      const metrics = new MetricsRegistry({ serviceName: 't', collectDefaultMetrics: false });
      const { logger, lines } = capturedLogger();
      const spool = await open(dir, { settings: bounded, metrics, logger });
      // Two resources sampled alternately: thinning every other record globally would wipe
      // out one of them; per resource, each keeps every other reading.
      const written: SpoolRecordInput[] = [rec('a', 0, 'start'), rec('b', 0, 'start')];
      for (let i = 1; i <= 60; i++) {
        written.push(rec('a', i, i === 30 ? 'final' : 'running'), rec('b', i));
      }
      written.push(rec('b', 61, 'final'));
      let thinned = 0;
      let appended = 0;
      for (let i = 0; i < written.length; i += 3) {
        const result = await spool.append(written.slice(i, i + 3));
        thinned += result.thinned;
        appended += result.appended;
        assert.equal(result.rejected, 0);
        assert.ok(
          spool.bytes() <= bounded.maxBytes,
          `bound held after append ${i}: ${spool.bytes()}`,
        );
      }
      assert.equal(appended, written.length);
      assert.ok(thinned > 0);
      assert.equal(spool.depth(), written.length - thinned);

      const kept = await spool.peek(1_000);
      assert.equal(kept.length, spool.depth());
      const seqs = kept.map((r) => r.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((x, y) => x - y),
        'order kept',
      );
      for (const must of ['a:0:start', 'b:0:start', 'a:30:final', 'b:61:final']) {
        assert.ok(
          kept.some((r) => label(r) === must),
          `${must} kept`,
        );
      }
      const perKey = (key: string): number => kept.filter((r) => label(r).startsWith(key)).length;
      assert.ok(Math.abs(perKey('a:') - perKey('b:')) <= 4, `${perKey('a:')} vs ${perKey('b:')}`);
      // The newest readings are untouched; the oldest running ones are the thinned ones.
      assert.deepEqual(
        kept.slice(-6).map(label),
        written.slice(-6).map((r) => r.value.toString().replace(/\.+$/, '')),
      );
      // Oldest first: the earliest readings are the sparsest.
      const runningA = kept
        .filter((r) => label(r).startsWith('a:') && r.lifecycle === 'running')
        .map((r) => Number(label(r).split(':')[1]));
      assert.ok(runningA[1]! - runningA[0]! >= 2, `oldest gap in ${runningA.join(',')}`);
      assert.equal(runningA.at(-1)! - runningA.at(-2)!, 1, 'newest readings at full resolution');

      assert.match(
        await metrics.metrics(),
        new RegExp(`t_spool_thinned_records_total\\{reason="thinned",service="t"\\} ${thinned}`),
      );
      const warned = lines
        .filter((line) => line.level === 'warn' && typeof line.thinned === 'number')
        .reduce((sum, line) => sum + (line.thinned as number), 0);
      assert.equal(warned, thinned, 'log lines carry the counts');
      await spool.close();

      const reopened = await open(dir, { settings: bounded });
      assert.deepEqual(
        (await reopened.peek(1_000)).map(label),
        kept.map(label),
        'thinning is durable',
      );
      await reopened.close();
    }));

  test('with only start/final records left, they are still accepted beyond the bound; running ones are refused and counted', () =>
    withTempDir(async (dir) => {
      const metrics = new MetricsRegistry({ serviceName: 't', collectDefaultMetrics: false });
      const { logger, lines } = capturedLogger();
      const spool = await open(dir, { settings: bounded, metrics, logger });
      const ends = Array.from({ length: 50 }, (_, i) =>
        rec(`k${i % 7}`, i, i % 2 ? 'final' : 'start'),
      );
      const result = await spool.append(ends);
      assert.deepEqual(result, { appended: 50, thinned: 0, rejected: 0 });
      assert.ok(spool.bytes() > bounded.maxBytes, 'beyond the bound rather than dropped');

      const mixed = await spool.append([rec('x', 0), rec('x', 1, 'final'), rec('x', 2)]);
      assert.deepEqual(mixed, { appended: 1, thinned: 0, rejected: 2 });
      const labels = (await spool.peek(1_000)).map(label);
      assert.equal(labels.length, 51);
      assert.equal(labels.at(-1), 'x:1:final');
      assert.match(
        await metrics.metrics(),
        /t_spool_thinned_records_total\{reason="no_room",service="t"\} 2/,
      );
      assert.ok(lines.some((line) => line.level === 'warn' && line.rejected === 2));
      await spool.close();
    }));

  test('leased records (peeked, not acked) are never thinned, so ack(n) acks what was sent', () =>
    withTempDir(async (dir) => {
      const spool = await open(dir, { settings: bounded });
      await spool.append(Array.from({ length: 40 }, (_, i) => rec('a', i)));
      const leased = await spool.peek(25);
      const result = await spool.append(Array.from({ length: 10 }, (_, i) => rec('a', 40 + i)));
      assert.ok(result.thinned > 0);
      assert.deepEqual(
        (await spool.peek(25)).map((r) => r.seq),
        leased.map((r) => r.seq),
      );
      await spool.ack(25);
      const after = await spool.peek(1);
      assert.ok(after[0]!.seq > leased.at(-1)!.seq);
      await spool.close();
    }));
});
