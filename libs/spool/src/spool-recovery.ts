// Opening a spool directory left by a previous run: temporary files dropped, the cursor read,
// each segment checked record by record (length, CRC32, increasing sequence) and truncated at
// the first damaged record, fully acked segments deleted.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger } from '@metering/observability';
import { decodeFrame } from './record.codec';
import { SEGMENT_FILE, segmentPath, type Segment } from './segment-log';
import { readCursor } from './spool-cursor';
import { truncateFile } from './spool-files';

export interface RecoveredSpool {
  lastAckedSeq: number;
  nextSeq: number;
  /** Segments holding unacked records, oldest first. */
  segments: Segment[];
  nextSegmentId: number;
  /** Records and bytes of segments[0] already acked (its prefix). */
  headAckedRecords: number;
  headAckedBytes: number;
  /** Unacked records. */
  depth: number;
}

export async function recoverSpool(
  dir: string,
  maxBodyBytes: number,
  logger: Logger,
): Promise<RecoveredSpool> {
  const names = await readdir(dir);
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    // A rewrite or cursor update interrupted before its rename: the original is intact.
    await unlink(join(dir, name));
  }
  const lastAckedSeq = await readCursor(dir, logger);
  const recovered: RecoveredSpool = {
    lastAckedSeq,
    nextSeq: 1,
    segments: [],
    nextSegmentId: 1,
    headAckedRecords: 0,
    headAckedBytes: 0,
    depth: 0,
  };
  const ids = names
    .map((name) => SEGMENT_FILE.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  let maxSeq = lastAckedSeq;
  for (const [index, id] of ids.entries()) {
    const path = segmentPath(dir, id);
    const buffer = await readFile(path);
    let offset = 0;
    let records = 0;
    let acked = 0;
    let ackedBytes = 0;
    let lastSeq = 0;
    while (offset < buffer.length) {
      const frame = decodeFrame(buffer, offset, maxBodyBytes);
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
        logger[isLast ? 'warn' : 'error'](
          { segment: path, offset, droppedBytes: buffer.length - offset, problem },
          'truncating the spool segment at a damaged record; earlier records are intact',
        );
        await truncateFile(path, offset);
        break;
      }
      records++;
      lastSeq = frame.record.seq;
      if (frame.record.seq <= lastAckedSeq) {
        acked++;
        ackedBytes += frame.size;
      }
      offset += frame.size;
    }
    maxSeq = Math.max(maxSeq, lastSeq);
    recovered.nextSegmentId = id + 1;
    if (records === acked) {
      await unlink(path);
      continue;
    }
    if (recovered.segments.length === 0) {
      recovered.headAckedRecords = acked;
      recovered.headAckedBytes = ackedBytes;
    }
    recovered.segments.push({ id, path, size: offset, records });
    recovered.depth += records - acked;
  }
  recovered.nextSeq = maxSeq + 1;
  return recovered;
}
