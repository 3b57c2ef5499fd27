// The spool's segment files: which exist, the one being appended to, appending frames (rolled
// back whole when a write fails), replacing a segment whole, deleting one once it is acked.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger } from '@metering/observability';
import { type DiskSpoolSettings } from './spool.config';
import { syncDir, truncateFile, writeAll, writeWholeFile } from './spool-files';

export interface Segment {
  id: number;
  path: string;
  /** Bytes in the file, the head's acked prefix included. */
  size: number;
  /** Records in the file, the head's acked prefix included. */
  records: number;
}

interface Touched {
  size: number;
  records: number;
  created: boolean;
}

export const SEGMENT_FILE = /^segment-(\d{20})\.log$/;

export function segmentPath(dir: string, id: number): string {
  return join(dir, `segment-${String(id).padStart(20, '0')}.log`);
}

/**
 * The segments under one spool directory, oldest first. A segment is only ever appended to (the
 * last one, through one open handle) or replaced whole (temporary file, sync, rename), so a
 * crash leaves either the old or the new file, plus at most a torn last record.
 */
export class SegmentLog {
  segments: Segment[] = [];
  nextSegmentId = 1;
  private active: { segment: Segment; handle: FileHandle } | undefined;
  /** Appended to since the last sync (fsync `interval`). */
  private dirty = false;

  constructor(
    private readonly dir: string,
    private readonly settings: DiskSpoolSettings,
    private readonly logger: Logger,
  ) {}

  /** Size of the segment files on disk. */
  bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  /**
   * Appends frames to the active segment, starting new segments at segmentBytes. If a write
   * fails, every touched segment is cut back to its size before this append, so a failed
   * append leaves nothing behind (the caller may retry it without duplicates).
   */
  async append(frames: readonly Buffer[]): Promise<void> {
    const touched = new Map<Segment, Touched>();
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

  /**
   * Replaces a segment by `kept` (its frames that stay, possibly re-encoded), or deletes it when
   * nothing is kept. Written to a temporary file, synced, renamed over the original, so a crash
   * leaves one or the other.
   */
  async replace(segment: Segment, kept: readonly Buffer[], keptBytes: number): Promise<void> {
    const isActive = this.active?.segment === segment;
    if (this.active && isActive) {
      await this.active.handle.close();
      this.active = undefined;
    }
    if (kept.length === 0) {
      await unlink(segment.path);
      this.segments = this.segments.filter((s) => s !== segment);
      return;
    }
    const tmp = `${segment.path}.tmp`;
    await writeWholeFile(tmp, Buffer.concat(kept, keptBytes), this.settings.fsync !== 'never');
    await rename(tmp, segment.path);
    if (this.settings.fsync !== 'never') await syncDir(this.dir);
    segment.size = keptBytes;
    segment.records = kept.length;
    if (isActive) this.active = { segment, handle: await open(segment.path, 'a') };
  }

  /** Deletes the file of a segment every record of which is acked (already out of `segments`). */
  async delete(segment: Segment): Promise<void> {
    if (this.active?.segment === segment) {
      await this.active.handle.close();
      this.active = undefined;
    }
    await unlink(segment.path);
  }

  /** fsync `interval`: syncs the active segment if it was appended to since the last sync. */
  async syncIfDirty(): Promise<void> {
    if (!this.dirty || !this.active) return;
    this.dirty = false;
    await this.active.handle.sync();
  }

  /** Syncs (unless fsync is `never`) and closes the active segment. */
  async close(): Promise<void> {
    if (!this.active) return;
    if (this.settings.fsync !== 'never') await this.active.handle.sync();
    await this.active.handle.close();
    this.active = undefined;
  }

  private async rollBack(touched: Map<Segment, Touched>): Promise<void> {
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
    await this.close();
    const last = this.segments.at(-1);
    if (last && fits(last) && last.id === this.nextSegmentId - 1) {
      this.active = { segment: last, handle: await open(last.path, 'a') };
      return { ...this.active, created: false };
    }
    const id = this.nextSegmentId++;
    const segment: Segment = { id, path: segmentPath(this.dir, id), size: 0, records: 0 };
    const handle = await open(segment.path, 'a');
    if (this.settings.fsync !== 'never') await syncDir(this.dir);
    this.segments.push(segment);
    this.active = { segment, handle };
    return { ...this.active, created: true };
  }
}
