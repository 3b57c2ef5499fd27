// The spool's queue: appending in order under the byte bound (thinning old running records to
// make room), peek with leases, ack with the persisted cursor, and the in-memory tail that lets
// peek skip the disk. The files themselves: segment-log.ts (writing), segment-reader.ts
// (reading back), spool-recovery.ts (opening what a previous run left), spool-cursor.ts,
// spool-lock.ts; the record format: record.codec.ts; which records thinning drops: thin-plan.ts.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLogger, type Logger, type MetricsRegistry } from '@metering/observability';
import { encodeFrame, frameSize } from './record.codec';
import { SegmentLog, type Segment } from './segment-log';
import { readSegmentFrames, readSegmentRecords, type ReadRecord } from './segment-reader';
import { resolveSpoolSettings, type DiskSpoolSettings } from './spool.config';
import { writeCursor } from './spool-cursor';
import { AckBeyondDepthError, RecordTooLargeError, SpoolClosedError } from './spool.errors';
import { acquireLock, releaseLock } from './spool-lock';
import { SpoolMetrics } from './spool.metrics';
import { recoverSpool } from './spool-recovery';
import { type SpoolRecord, type SpoolRecordInput } from './spool-record';
import { type ThinDecision, type ThinMarker, applyThinning, planThinning } from './thin-plan';

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

/** A record handed out by peek and not acked yet: protected from thinning. */
interface Lease {
  seq: number;
  size: number;
}

/** The unacked records kept in memory for peek at most (beyond: read back from disk). */
const TAIL_MAX_RECORDS = 50_000;
const TAIL_MAX_BYTES = 32 * 1024 * 1024;

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
  private readonly log: SegmentLog;

  private nextSeq = 1;
  private lastAckedSeq = 0;
  /** Records and bytes of the head segment already acked (its prefix). */
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
    this.log = new SegmentLog(dir, settings, this.logger);
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
    return this.log.bytes();
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
      await this.log.close();
      await releaseLock(this.dir);
    });
  }

  private async recover(): Promise<void> {
    const recovered = await recoverSpool(this.dir, this.maxBodyBytes, this.logger);
    this.lastAckedSeq = recovered.lastAckedSeq;
    this.nextSeq = recovered.nextSeq;
    this.log.segments = recovered.segments;
    this.log.nextSegmentId = recovered.nextSegmentId;
    this.headAckedRecords = recovered.headAckedRecords;
    this.headAckedBytes = recovered.headAckedBytes;
    this.depthValue = recovered.depth;
    if (this.depthValue > 0) this.dropTail();
    this.publishSize();
    if (this.depthValue > 0) {
      this.logger.info(
        { dir: this.dir, depth: this.depthValue, bytes: this.bytes() },
        'spool opened with records from a previous run',
      );
    }
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
      await this.log.append(frames);
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
    for (const segment of [...this.log.segments]) {
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
   * a new value: a mark of what was thinned before it); the acked prefix goes.
   */
  private async rewriteSegment(
    segment: Segment,
    plan: (records: SpoolRecord[]) => ThinDecision[],
  ): Promise<{ freed: number; dropped: number; unacked: number }> {
    const isHead = segment === this.log.segments[0];
    const frames = await readSegmentFrames(
      segment,
      isHead ? this.headAckedBytes : 0,
      this.maxBodyBytes,
    );
    const unacked = frames.length;
    const { kept, keptBytes, dropped } = applyThinning(frames, plan(frames.map((f) => f.record)));
    const freed = segment.size - keptBytes;
    if (freed === 0 && dropped === 0) return { freed: 0, dropped: 0, unacked };
    // Records dropped or given new values on disk: peek reads them from there until drained.
    this.dropTail();
    await this.log.replace(segment, kept, keptBytes);
    if (isHead) {
      this.headAckedRecords = 0;
      this.headAckedBytes = 0;
    }
    this.depthValue -= dropped;
    return { freed, dropped, unacked };
  }

  // ---- reading and acking -----------------------------------------------------------------

  private async peekNow(max: number): Promise<ReadRecord[]> {
    this.assertOpen();
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`peek(${max}): not a count`);
    let out: ReadRecord[] = [];
    if (this.tail !== null) {
      out = this.tail.slice(0, max);
    } else {
      for (const [index, segment] of this.log.segments.entries()) {
        if (out.length >= max) break;
        const from = index === 0 ? this.headAckedBytes : 0;
        await readSegmentRecords(segment, from, max, out, this.maxBodyBytes);
      }
    }
    if (out.length > this.leases.length) {
      this.leases = out.map(({ record, size }) => ({ seq: record.seq, size }));
    }
    return out;
  }

  private async ackNow(count: number): Promise<void> {
    this.assertOpen();
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`ack(${count}): not a count`);
    if (count === 0) return;
    if (count > this.depthValue) throw new AckBeyondDepthError(count, this.depthValue);
    if (count > this.leases.length) await this.peekNow(count);
    const done: Segment[] = [];
    for (const lease of this.leases.splice(0, count)) {
      const head = this.log.segments[0]!;
      this.headAckedBytes += lease.size;
      this.headAckedRecords++;
      this.lastAckedSeq = lease.seq;
      if (this.headAckedRecords === head.records) {
        done.push(head);
        this.log.segments.shift();
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
    await writeCursor(this.dir, this.lastAckedSeq, this.settings.fsync === 'batch');
    for (const segment of done) await this.log.delete(segment);
    this.publishSize();
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
        if (this.closed) return;
        await this.log.syncIfDirty();
      }).catch((error: unknown) => this.logger.error({ err: error }, 'spool fsync failed'));
    }, this.settings.fsyncIntervalMs);
    this.fsyncTimer.unref();
  }

  private publishSize(): void {
    this.metrics.spoolSize(this.depthValue, this.bytes());
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
