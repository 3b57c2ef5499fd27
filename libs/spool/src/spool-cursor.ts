// The spool's read cursor on disk: the sequence number of the last acked record, in a 16-byte
// file (u32 magic "SPC1" | u64 seq | u32 crc32 of the first 12 bytes), replaced whole on ack.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type Logger } from '@metering/observability';
import { isErrno, writeWholeFile } from './spool-files';

const CURSOR_FILE = 'cursor';
const CURSOR_MAGIC = 0x31435053; // "SPC1"

/** The last acked sequence number; 0 when there is no cursor or it cannot be read. */
export async function readCursor(dir: string, logger: Logger): Promise<number> {
  let buffer: Buffer;
  try {
    buffer = await readFile(join(dir, CURSOR_FILE));
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
    logger.warn({ dir }, 'spool cursor unreadable; resending what is on disk');
    return 0;
  }
  return Number(buffer.readBigUInt64LE(4));
}

/** Writes the cursor to a temporary file and renames it over the old one. */
export async function writeCursor(dir: string, lastAckedSeq: number, sync: boolean): Promise<void> {
  const buffer = Buffer.alloc(16);
  buffer.writeUInt32LE(CURSOR_MAGIC, 0);
  buffer.writeBigUInt64LE(BigInt(lastAckedSeq), 4);
  buffer.writeUInt32LE(crc32(buffer.subarray(0, 12)), 12);
  const path = join(dir, CURSOR_FILE);
  await writeWholeFile(`${path}.tmp`, buffer, sync);
  await rename(`${path}.tmp`, path);
}
