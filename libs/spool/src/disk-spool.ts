import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { createLogger, type Logger, type MetricsRegistry } from '@metering/observability';
import { decodeFrame, encodeFrame, frameSize } from './record.codec';
import { resolveSpoolSettings, type DiskSpoolSettings } from './spool.config';
import {
  AckBeyondDepthError,
  RecordTooLargeError,
  SpoolClosedError,
  SpoolCorruptError,
  SpoolLockedError,
} from './spool.errors';
import { SpoolMetrics } from './spool.metrics';
import { type SpoolRecord, type SpoolRecordInput } from './spool-record';
import { type ThinDecision, type ThinMarker, planThinning } from './thin-plan';

export interface DiskSpoolOptions {
  settings?: Partial<DiskSpoolSettings>;
  /** Parent logger; lines carry context `DiskSpool`. Default: a new root logger. */
  logger?: Logger;
  metrics?: MetricsRegistry | SpoolMetrics;
  /** Epoch milliseconds, for appendedAt. */
  now?: () => number;
  /** Marks the kept record after thinned ones (thin-plan.ts); absent: drops go unsaid. */
  thinMarker?: ThinMarker;
}

export interface AppendResult {
  /** Records written (start/final ones even beyond the bound). */
  appended: number;
  /** Older running records dropped to make room. */
  thinned: number;
  /** Running records of this append refused because nothing was left to thin. */
  rejected: number;
}

interface Segment {
  id: number;
  path: string;
  /** Bytes in the file, the head's acked prefix included. */
  size: number;
  /** Records in the file, the head's acked prefix included. */
  records: number;
}

/** A record handed out by peek and not acked yet: protected from thinning. */
interface Lease {
  seq: number;
  size: number;
}

interface ReadRecord {
  record: SpoolRecord;
  size: number;
}

const SEGMENT_FILE = /^segment-(\d{20})\.log$/;
const CURSOR_FILE = 'cursor';
const LOCK_FILE = 'LOCK';
const CURSOR_MAGIC = 0x31435053; // "SPC1"
const READ_CHUNK_BYTES = 1024 * 1024;
/** The unacked records kept in memory for peek at most (beyond: read back from disk). */
const TAIL_MAX_RECORDS = 50_000;
const TAIL_MAX_BYTES = 32 * 1024 * 1024;

/** Spool directories opened by this process; the lock file cannot tell them apart. */
const openDirs = new Set<string>();

/**
 * An append-only on-disk queue of records, in segment files under one directory, with a
 * persisted read cursor. One process, one DiskSpool per directory (a LOCK file says whose).
 *
 * Guarantees:
 * - Order: peek returns records in append order; thinning removes records, never reorders.
 * - Durability: what append() resolved is on disk per the fsync policy and survives a
 *   process restart; acked records are not returned again (the cursor is persisted on ack,
 *   so after a crash at most the last acked batch may come back: at-least-once).
 * - Crash safety: every record has a length and a CRC32. On open, a torn or corrupt record
 *   and everything after it in its segment are truncated; earlier records are untouched,
 *   because a segment is only ever appended to or replaced whole (write temp, rename).
 * - Bound: the segment files stay under maxBytes. When an append would cross it, the
 *   oldest `running` records are thinned (see thinPass); `start` and `final` records are
 *   never thinned and are accepted even beyond the bound; a running record of the append
 *   itself is refused only when nothing is left to thin. Every drop is counted and logged.
 * - Records returned by peek() are leased until ack(): thinning never drops them, so
 *   ack(n) always acknowledges exactly the n records the caller sent.
 *
 * All operations are serialised; the file I/O is asynchronous, so the event loop (and
 * sampling) never waits on a disk flush.
 */
export class DiskSpool {
  private readonly logger: Logger;
  private readonly metrics: SpoolMetrics;
  private readonly now: () => number;
  private readonly maxBodyBytes: number;
  private readonly thinMarker: ThinMarker | null;

  private segments: Segment[] = [];
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private nextSegmentId = 1;
  private nextSeq = 1;
  private lastAckedSeq = 0;
  /** Records and bytes of segments[0] already acked (its prefix). */
  private headAckedRecords = 0;
  private headAckedBytes = 0;
  private depthValue = 0;
  private leases: Lease[] = [];
  /**
   * Every unacked record, as appended, from the head on: what peek returns without reading the
   * disk while the forwarder keeps up. null while memory does not hold all of them (records
   * recovered at open, thinned or rewritten segments, a failed append, more than the bound);
   * whole again once everything is acked.
   */
  private tail: ReadRecord[] | null = [];
  private tailBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private dirty = false;
  private fsyncTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    readonly settings: DiskSpoolSettings,
    options: DiskSpoolOptions,
  ) {
    this.logger = createLogger('DiskSpool', options.logger ? { parent: options.logger } : {});
    this.metrics =
      options.metrics instanceof SpoolMetrics ? options.metrics : new SpoolMetrics(options.metrics);
    this.now = options.now ?? Date.now;
    this.maxBodyBytes = frameSize(0, settings.maxRecordBytes);
    this.thinMarker = options.thinMarker ?? null;
  }

  /** Opens (creating if needed) the spool in `dir`, recovering what a previous run left. */
  static async open(dir: string, options: DiskSpoolOptions = {}): Promise<DiskSpool> {
    const settings = resolveSpoolSettings(options.settings);
    const absolute = resolve(dir);
    await mkdir(absolute, { recursive: true });
    await acquireLock(absolute);
    const spool = new DiskSpool(absolute, settings, options);
    try {
      await spool.recover();
    } catch (error) {
      await releaseLock(absolute);
      throw error;
    }
    if (settings.fsync === 'interval') spool.startFsyncTimer();
    return spool;
  }

  /** Unacked records. */
  depth(): number {
    return this.depthValue;
  }

  /** Size of the segment files on disk (what maxBytes bounds). */
  bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  /** Appends in order. Rejects (writing nothing) if a record exceeds maxRecordBytes. */
  append(records: readonly SpoolRecordInput[]): Promise<AppendResult> {
    return this.exclusive(() => this.appendNow(records));
  }

  /** Up to `max` unacked records from the head, oldest first; leases them until ack. */
  peek(max: number): Promise<SpoolRecord[]> {
    return this.exclusive(async () => (await this.peekNow(max)).map((read) => read.record));
  }

  /** Removes the `count` oldest unacked records (those peek returned) for good. */
  ack(count: number): Promise<void> {
    return this.exclusive(() => this.ackNow(count));
  }

  /** Flushes, closes the files and releases the directory. Safe to call twice. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      clearInterval(this.fsyncTimer);
      if (this.active) {
        if (this.settings.fsync !== 'never') await this.active.handle.sync();
        await this.active.handle.close();
        this.active = undefined;
      }
      await releaseLock(this.dir);
    });
  }

  // ---- recovery ---------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const names = await readdir(this.dir);
    for (const name of names.filter((n) => n.endsWith('.tmp'))) {
      // A rewrite or cursor update interrupted before its rename: the original is intact.
      await unlink(join(this.dir, name));
    }
    this.lastAckedSeq = await this.readCursor();
    const ids = names
      .map((name) => SEGMENT_FILE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let maxSeq = this.lastAckedSeq;
    for (const [index, id] of ids.entries()) {
      const path = this.segmentPath(id);
      const buffer = await readFile(path);
      let offset = 0;
      let records = 0;
      let acked = 0;
      let ackedBytes = 0;
      let lastSeq = 0;
      while (offset < buffer.length) {
        const frame = decodeFrame(buffer, offset, this.maxBodyBytes);
        const problem =
          frame.kind === 'corrupt'
            ? frame.reason
            : frame.kind === 'incomplete'
              ? 'torn record'
              : frame.record.seq <= lastSeq
                ? `sequence ${frame.record.seq} after ${lastSeq}`
                : undefined;
        if (frame.kind !== 'record' || problem !== undefined) {
          const isLast = index === ids.length - 1;
          // The last segment's tail is where a crash mid-append leaves a torn record;
          // anywhere else it is damage, so it is louder.
          this.logger[isLast ? 'warn' : 'error'](
            { segment: path, offset, droppedBytes: buffer.length - offset, problem },
            'truncating the spool segment at a damaged record; earlier records are intact',
          );
          await truncateFile(path, offset);
          break;
        }
        records++;
        lastSeq = frame.record.seq;
        if (frame.record.seq <= this.lastAckedSeq) {
          acked++;
          ackedBytes += frame.size;
        }
        offset += frame.size;
      }
      maxSeq = Math.max(maxSeq, lastSeq);
      this.nextSegmentId = id + 1;
      if (records === acked) {
        await unlink(path);
        continue;
      }
      if (this.segments.length === 0) {
        this.headAckedRecords = acked;
        this.headAckedBytes = ackedBytes;
      }
      this.segments.push({ id, path, size: offset, records });
      this.depthValue += records - acked;
    }
    this.nextSeq = maxSeq + 1;
    if (this.depthValue > 0) this.dropTail();
    this.publishSize();
    if (this.depthValue > 0) {
      this.logger.info(
        { dir: this.dir, depth: this.depthValue, bytes: this.bytes() },
        'spool opened with records from a previous run',
      );
    }
  }

  private async readCursor(): Promise<number> {
    let buffer: Buffer;
    try {
      buffer = await readFile(join(this.dir, CURSOR_FILE));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 0;
      throw error;
    }
    if (
      buffer.length !== 16 ||
      buffer.readUInt32LE(0) !== CURSOR_MAGIC ||
      buffer.readUInt32LE(12) !== crc32(buffer.subarray(0, 12))
    ) {
      // Records still on disk are sent again (duplicates are harmless: sampleId dedups).
      this.logger.warn({ dir: this.dir }, 'spool cursor unreadable; resending what is on disk');
      return 0;
    }
    return Number(buffer.readBigUInt64LE(4));
  }

  // ---- append and the bound ---------------------------------------------------------------

  private async appendNow(records: readonly SpoolRecordInput[]): Promise<AppendResult> {
    this.assertOpen();
    let incomingBytes = 0;
    for (const record of records) {
      const bytes = record.key.length + record.value.length;
      if (bytes > this.settings.maxRecordBytes) {
        throw new RecordTooLargeError(bytes, this.settings.maxRecordBytes);
      }
      incomingBytes += frameSize(record.key.length, record.value.length);
    }
    if (records.length === 0) return { appended: 0, thinned: 0, rejected: 0 };

    const before = this.bytes();
    let thinned = 0;
    if (before + incomingBytes > this.settings.maxBytes) {
      thinned = await this.makeRoom(before + incomingBytes - this.settings.maxBytes);
    }
    let room = this.settings.maxBytes - this.bytes();
    const accepted: SpoolRecordInput[] = [];
    let rejected = 0;
    for (const record of records) {
      const size = frameSize(record.key.length, record.value.length);
      if (record.lifecycle === 'running' && size > room) {
        rejected++;
        continue;
      }
      accepted.push(record);
      room -= size;
    }
    const appendedAt = this.now();
    const stored: ReadRecord[] = accepted.map(({ key, value, lifecycle }) => ({
      record: { key, value, lifecycle, seq: this.nextSeq++, appendedAt },
      size: frameSize(key.length, value.length),
    }));
    const frames = stored.map(({ record }) => encodeFrame(record));
    try {
      await this.writeFrames(frames);
    } catch (error) {
      this.dropTail();
      throw error;
    }
    if (this.depthValue === 0 && this.tail === null) this.tail = [];
    this.depthValue += frames.length;
    this.keepInTail(stored);
    this.publishSize();

    if (thinned > 0 || rejected > 0) {
      this.metrics.recordsDropped('thinned', thinned);
      this.metrics.recordsDropped('no_room', rejected);
      this.logger.warn(
        {
          thinned,
          rejected,
          bytes: this.bytes(),
          maxBytes: this.settings.maxBytes,
          depth: this.depthValue,
        },
        rejected > 0
          ? `spool full: thinned ${thinned} old running samples and refused ${rejected} new running samples (only start/final samples left)`
          : `spool full: thinned ${thinned} of the oldest running samples`,
      );
    } else if (this.bytes() > this.settings.maxBytes && before <= this.settings.maxBytes) {
      this.logger.warn(
        { bytes: this.bytes(), maxBytes: this.settings.maxBytes, depth: this.depthValue },
        'spool beyond its bound: only start/final samples left, which are never dropped',
      );
    }
    return { appended: frames.length, thinned, rejected };
  }

  /**
   * Frees at least `overflow` bytes if it can, plus some slack so that a full spool thins
   * in occasional bursts rather than on every append. Returns the records dropped.
   */
  private async makeRoom(overflow: number): Promise<number> {
    const slack = Math.min(this.settings.segmentBytes, Math.floor(this.settings.maxBytes / 20));
    const goal = overflow + slack;
    let freed = 0;
    let dropped = 0;
    while (freed < goal) {
      const pass = await this.thinPass(goal - freed);
      freed += pass.freed;
      dropped += pass.dropped;
      if (pass.dropped === 0) break;
    }
    return dropped;
  }

  /**
   * One thinning pass, oldest segment first, until `goal` bytes are freed: in each segment
   * every second `running` record of each key (resource) is dropped, counting per key
   * across the pass, so each resource's series keeps every other reading. Leased records
   * are kept (they may be on their way to Kafka); the head's acked prefix is dropped too.
   *
   * Why dropping running samples is acceptable: a sample carries the cumulative CPU counter
   * of its instance, so the next kept sample's delta still covers the CPU of the dropped one:
   * thinning loses resolution, never CPU. Memory is a level integrated over time, so its
   * integral gets coarser (the kept level is held longer), which is the price of a full disk.
   * start and final samples are never thinned: start anchors an instance (counter reset,
   * startedAt) and final carries its last counter before it disappears; losing either would
   * lose usage. With a thin marker (the publisher's), a record is dropped only when a later kept
   * record of its instance in the segment can say so (`thinned`, ADR 0013): rating then counts it
   * as thinned, not lost. Repeated passes halve the oldest data first, so older outage time ends up
   * sparser while recent samples keep full resolution.
   */
  private async thinPass(goal: number): Promise<{ freed: number; dropped: number }> {
    const seenPerKey = new Map<string, number>();
    let protectedLeft = this.leases.length;
    let freed = 0;
    let dropped = 0;
    for (const segment of [...this.segments]) {
      if (freed >= goal) break;
      const left = protectedLeft;
      const result = await this.rewriteSegment(segment, (records) =>
        planThinning(
          records.map((record, unackedIndex) => ({ record, protected: unackedIndex < left })),
          seenPerKey,
          this.thinMarker,
        ),
      );
      protectedLeft = Math.max(0, protectedLeft - result.unacked);
      freed += result.freed;
      dropped += result.dropped;
    }
    return { freed, dropped };
  }

  /**
   * Replaces a segment by what `plan` decides for its unacked records (kept, dropped, or kept with
   * a new value: a mark of what was thinned before it); the acked prefix goes. Written to a
   * temporary file, synced, renamed over the original, so a crash leaves one or the other.
   */
  private async rewriteSegment(
    segment: Segment,
    plan: (records: SpoolRecord[]) => ThinDecision[],
  ): Promise<{ freed: number; dropped: number; unacked: number }> {
    const isHead = segment === this.segments[0];
    const buffer = await readFile(segment.path);
    const frames: { record: SpoolRecord; bytes: Buffer }[] = [];
    let offset = isHead ? this.headAckedBytes : 0;
    while (offset < segment.size) {
      const frame = decodeFrame(buffer, offset, this.maxBodyBytes);
      if (frame.kind !== 'record') {
        throw new SpoolCorruptError(`${segment.path} changed on disk at offset ${offset}`);
      }
      frames.push({ record: frame.record, bytes: buffer.subarray(offset, offset + frame.size) });
      offset += frame.size;
    }
    const decisions = plan(frames.map((f) => f.record));
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let dropped = 0;
    const unacked = frames.length;
    for (const [i, { record, bytes }] of frames.entries()) {
      const decision = decisions[i] ?? { kind: 'keep' };
      if (decision.kind === 'drop') {
        dropped++;
        continue;
      }
      // A marked record keeps its place and sequence number, with its new value.
      const frame =
        decision.kind === 'replace' ? encodeFrame({ ...record, value: decision.value }) : bytes;
      kept.push(frame);
      keptBytes += frame.length;
    }
    const freed = segment.size - keptBytes;
    if (freed === 0 && dropped === 0) return { freed: 0, dropped: 0, unacked };
    // Records dropped or given new values on disk: peek reads them from there until drained.
    this.dropTail();

    const isActive = this.active?.segment === segment;
    if (this.active && isActive) {
      await this.active.handle.close();
      this.active = undefined;
    }
    if (kept.length === 0) {
      await unlink(segment.path);
      this.segments = this.segments.filter((s) => s !== segment);
    } else {
      const tmp = `${segment.path}.tmp`;
      await writeWholeFile(tmp, Buffer.concat(kept, keptBytes), this.settings.fsync !== 'never');
      await rename(tmp, segment.path);
      if (this.settings.fsync !== 'never') await syncDir(this.dir);
      segment.size = keptBytes;
      segment.records = kept.length;
      if (isActive) this.active = { segment, handle: await open(segment.path, 'a') };
    }
    if (isHead) {
      this.headAckedRecords = 0;
      this.headAckedBytes = 0;
    }
    this.depthValue -= dropped;
    return { freed, dropped, unacked };
  }

  /**
   * Appends frames to the active segment, starting new segments at segmentBytes. If a write
   * fails, every touched segment is cut back to its size before this append, so a failed
   * append leaves nothing behind (the caller may retry it without duplicates).
   */
  private async writeFrames(frames: readonly Buffer[]): Promise<void> {
    const touched = new Map<Segment, { size: number; records: number; created: boolean }>();
    try {
      let i = 0;
      while (i < frames.length) {
        const { segment, handle, created } = await this.activeFor(frames[i]!.length);
        if (!touched.has(segment)) {
          touched.set(segment, { size: segment.size, records: segment.records, created });
        }
        let j = i;
        let chunkBytes = 0;
        while (
          j < frames.length &&
          (j === i || segment.size + chunkBytes + frames[j]!.length <= this.settings.segmentBytes)
        ) {
          chunkBytes += frames[j]!.length;
          j++;
        }
        await writeAll(handle, Buffer.concat(frames.slice(i, j), chunkBytes));
        segment.size += chunkBytes;
        segment.records += j - i;
        i = j;
      }
      if (this.active) {
        if (this.settings.fsync === 'batch') await this.active.handle.sync();
        else this.dirty = true;
      }
    } catch (error) {
      await this.rollBack(touched);
      throw error;
    }
  }

  private async rollBack(
    touched: Map<Segment, { size: number; records: number; created: boolean }>,
  ): Promise<void> {
    for (const [segment, before] of touched) {
      try {
        if (this.active?.segment === segment) {
          await this.active.handle.close().catch(() => undefined);
          this.active = undefined;
        }
        if (before.created) {
          await unlink(segment.path);
          this.segments = this.segments.filter((s) => s !== segment);
        } else {
          await truncateFile(segment.path, before.size);
          segment.size = before.size;
          segment.records = before.records;
        }
      } catch (error) {
        // The file may now end in a partial record; recovery truncates it at the next open.
        // Until then nothing is appended to it: activeFor starts a new segment.
        this.logger.error({ err: error, segment: segment.path }, 'could not roll back an append');
        segment.size = Math.max(segment.size, before.size);
        this.nextSegmentId = Math.max(this.nextSegmentId, segment.id + 1);
      }
    }
  }

  /** The segment the next frame goes to; seals the active one when the frame would not fit. */
  private async activeFor(
    frameBytes: number,
  ): Promise<{ segment: Segment; handle: FileHandle; created: boolean }> {
    const fits = (segment: Segment): boolean =>
      segment.size === 0 || segment.size + frameBytes <= this.settings.segmentBytes;
    if (this.active && fits(this.active.segment)) return { ...this.active, created: false };
    if (this.active) {
      if (this.settings.fsync !== 'never') await this.active.handle.sync();
      await this.active.handle.close();
      this.active = undefined;
    }
    const last = this.segments.at(-1);
    if (last && fits(last) && last.id === this.nextSegmentId - 1) {
      this.active = { segment: last, handle: await open(last.path, 'a') };
      return { ...this.active, created: false };
    }
    const id = this.nextSegmentId++;
    const segment: Segment = { id, path: this.segmentPath(id), size: 0, records: 0 };
    const handle = await open(segment.path, 'a');
    if (this.settings.fsync !== 'never') await syncDir(this.dir);
    this.segments.push(segment);
    this.active = { segment, handle };
    return { ...this.active, created: true };
  }

  // ---- reading and acking -----------------------------------------------------------------

  private async peekNow(max: number): Promise<ReadRecord[]> {
    this.assertOpen();
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`peek(${max}): not a count`);
    let out: ReadRecord[] = [];
    if (this.tail !== null) {
      out = this.tail.slice(0, max);
    } else {
      for (const [index, segment] of this.segments.entries()) {
        if (out.length >= max) break;
        await this.readSegment(segment, index === 0 ? this.headAckedBytes : 0, max, out);
      }
    }
    if (out.length > this.leases.length) {
      this.leases = out.map(({ record, size }) => ({ seq: record.seq, size }));
    }
    return out;
  }

  private async readSegment(
    segment: Segment,
    from: number,
    max: number,
    out: ReadRecord[],
  ): Promise<void> {
    const handle = await open(segment.path, 'r');
    try {
      let offset = from;
      while (out.length < max && offset < segment.size) {
        const buffer = await readAt(
          handle,
          offset,
          Math.min(segment.size - offset, READ_CHUNK_BYTES),
        );
        let position = 0;
        while (out.length < max && position < buffer.length) {
          const frame = decodeFrame(buffer, position, this.maxBodyBytes);
          if (frame.kind === 'record') {
            out.push({ record: frame.record, size: frame.size });
            position += frame.size;
            continue;
          }
          if (frame.kind === 'incomplete' && frame.size !== undefined && position === 0) {
            // A record larger than one read chunk.
            const whole = decodeFrame(
              await readAt(handle, offset, frame.size),
              0,
              this.maxBodyBytes,
            );
            if (whole.kind === 'record') {
              out.push({ record: whole.record, size: whole.size });
              position = whole.size;
            }
          }
          break;
        }
        if (position === 0) {
          throw new SpoolCorruptError(`unreadable record in ${segment.path} at offset ${offset}`);
        }
        offset += position;
      }
    } finally {
      await handle.close();
    }
  }

  private async ackNow(count: number): Promise<void> {
    this.assertOpen();
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`ack(${count}): not a count`);
    if (count === 0) return;
    if (count > this.depthValue) throw new AckBeyondDepthError(count, this.depthValue);
    if (count > this.leases.length) await this.peekNow(count);
    const done: Segment[] = [];
    for (const lease of this.leases.splice(0, count)) {
      const head = this.segments[0]!;
      this.headAckedBytes += lease.size;
      this.headAckedRecords++;
      this.lastAckedSeq = lease.seq;
      if (this.headAckedRecords === head.records) {
        done.push(head);
        this.segments.shift();
        this.headAckedRecords = 0;
        this.headAckedBytes = 0;
      }
    }
    this.depthValue -= count;
    if (this.tail !== null) {
      for (const { size } of this.tail.splice(0, count)) this.tailBytes -= size;
    }
    if (this.depthValue === 0 && this.tail === null) this.tail = [];
    // The cursor first: a crash between the two steps then finds fully acked segments,
    // which recovery deletes, instead of a cursor that points before deleted records.
    await this.writeCursor();
    for (const segment of done) {
      if (this.active?.segment === segment) {
        await this.active.handle.close();
        this.active = undefined;
      }
      await unlink(segment.path);
    }
    this.publishSize();
  }

  private async writeCursor(): Promise<void> {
    const buffer = Buffer.alloc(16);
    buffer.writeUInt32LE(CURSOR_MAGIC, 0);
    buffer.writeBigUInt64LE(BigInt(this.lastAckedSeq), 4);
    buffer.writeUInt32LE(crc32(buffer.subarray(0, 12)), 12);
    const path = join(this.dir, CURSOR_FILE);
    await writeWholeFile(`${path}.tmp`, buffer, this.settings.fsync === 'batch');
    await rename(`${path}.tmp`, path);
  }

  // ---- helpers ----------------------------------------------------------------------------

  private keepInTail(stored: readonly ReadRecord[]): void {
    if (this.tail === null) return;
    for (const entry of stored) {
      this.tail.push(entry);
      this.tailBytes += entry.size;
    }
    if (this.tail.length > TAIL_MAX_RECORDS || this.tailBytes > TAIL_MAX_BYTES) this.dropTail();
  }

  private dropTail(): void {
    this.tail = null;
    this.tailBytes = 0;
  }

  private startFsyncTimer(): void {
    this.fsyncTimer = setInterval(() => {
      void this.exclusive(async () => {
        if (this.closed || !this.dirty || !this.active) return;
        this.dirty = false;
        await this.active.handle.sync();
      }).catch((error: unknown) => this.logger.error({ err: error }, 'spool fsync failed'));
    }, this.settings.fsyncIntervalMs);
    this.fsyncTimer.unref();
  }

  private publishSize(): void {
    this.metrics.spoolSize(this.depthValue, this.bytes());
  }

  private segmentPath(id: number): string {
    return join(this.dir, `segment-${String(id).padStart(20, '0')}.log`);
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolClosedError();
  }

  /** Runs operations one at a time, in call order; a failed one does not stop the next. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

async function acquireLock(dir: string): Promise<void> {
  if (openDirs.has(dir)) throw new SpoolLockedError(dir, process.pid);
  const path = join(dir, LOCK_FILE);
  try {
    await writeWholeFile(path, Buffer.from(`${process.pid}\n`), false, 'wx');
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    // Our own pid in the file is an earlier life of this process id (a container restarts
    // as pid 1 again), since openDirs says this process has not opened it.
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new SpoolLockedError(dir, holder);
    }
    await writeWholeFile(path, Buffer.from(`${process.pid}\n`), false);
  }
  openDirs.add(dir);
}

async function releaseLock(dir: string): Promise<void> {
  openDirs.delete(dir);
  await unlink(join(dir, LOCK_FILE)).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

async function writeWholeFile(
  path: string,
  data: Buffer,
  sync: boolean,
  flag = 'w',
): Promise<void> {
  const handle = await open(path, flag);
  try {
    await writeAll(handle, data);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function truncateFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a file's creation, rename or removal durable (the directory entry itself). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}
