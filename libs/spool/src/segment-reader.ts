// Reading records back from a segment file: for peek when memory does not hold every unacked
// record (in chunks, a record larger than a chunk read whole), and for a thinning rewrite.
import { open, readFile } from 'node:fs/promises';
import { decodeFrame } from './record.codec';
import { type Segment } from './segment-log';
import { SpoolCorruptError } from './spool.errors';
import { readAt } from './spool-files';
import { type SpoolRecord } from './spool-record';

export interface ReadRecord {
  record: SpoolRecord;
  size: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;

/** Appends to `out` the records of `segment` from byte `from` on, until `out` holds `max`. */
export async function readSegmentRecords(
  segment: Segment,
  from: number,
  max: number,
  out: ReadRecord[],
  maxBodyBytes: number,
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
        const frame = decodeFrame(buffer, position, maxBodyBytes);
        if (frame.kind === 'record') {
          out.push({ record: frame.record, size: frame.size });
          position += frame.size;
          continue;
        }
        if (frame.kind === 'incomplete' && frame.size !== undefined && position === 0) {
          // A record larger than one read chunk.
          const whole = decodeFrame(await readAt(handle, offset, frame.size), 0, maxBodyBytes);
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

/** Every record of `segment` from byte `from` on, with its frame's bytes as on disk. */
export async function readSegmentFrames(
  segment: Segment,
  from: number,
  maxBodyBytes: number,
): Promise<{ record: SpoolRecord; bytes: Buffer }[]> {
  const buffer = await readFile(segment.path);
  const frames: { record: SpoolRecord; bytes: Buffer }[] = [];
  let offset = from;
  while (offset < segment.size) {
    const frame = decodeFrame(buffer, offset, maxBodyBytes);
    if (frame.kind !== 'record') {
      throw new SpoolCorruptError(`${segment.path} changed on disk at offset ${offset}`);
    }
    frames.push({ record: frame.record, bytes: buffer.subarray(offset, offset + frame.size) });
    offset += frame.size;
  }
  return frames;
}
