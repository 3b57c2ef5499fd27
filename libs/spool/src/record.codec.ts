import { crc32 } from 'node:zlib';
import { type Lifecycle } from '@metering/contracts';
import { type SpoolRecord } from './spool-record';

/*
 * One record on disk (little-endian):
 *
 *   u32 bodyLength | u32 crc32(body) | body
 *   body = u8 format (1) | u8 lifecycle | u16 reserved (0) | u64 seq | u64 appendedAt
 *        | u32 keyLength | key | value
 *
 * The length and CRC come first so a reader can tell a whole record from a torn one: a
 * crash mid-write leaves a short body, a length pointing past the end of the file, zeros
 * from a file extended but never written, or bytes whose CRC does not match.
 */
export const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 24;
const FORMAT = 1;

const LIFECYCLE_CODES: Readonly<Record<Lifecycle, number>> = { running: 0, start: 1, final: 2 };
const LIFECYCLES: readonly Lifecycle[] = ['running', 'start', 'final'];

/** Bytes a record takes on disk, framing included. */
export function frameSize(keyBytes: number, valueBytes: number): number {
  return FRAME_HEADER_BYTES + BODY_FIXED_BYTES + keyBytes + valueBytes;
}

export function encodeFrame(record: SpoolRecord): Buffer {
  const size = frameSize(record.key.length, record.value.length);
  const frame = Buffer.allocUnsafe(size);
  frame.writeUInt32LE(size - FRAME_HEADER_BYTES, 0);
  frame.writeUInt8(FORMAT, 8);
  frame.writeUInt8(LIFECYCLE_CODES[record.lifecycle], 9);
  frame.writeUInt16LE(0, 10);
  writeU64(frame, record.seq, 12);
  writeU64(frame, record.appendedAt, 20);
  frame.writeUInt32LE(record.key.length, 28);
  record.key.copy(frame, 32);
  record.value.copy(frame, 32 + record.key.length);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

/** A safe integer as a u64, little-endian, without a BigInt (one per record adds up). */
function writeU64(frame: Buffer, value: number, offset: number): void {
  frame.writeUInt32LE(value % 0x1_0000_0000, offset);
  frame.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

export type FrameRead =
  | { kind: 'record'; record: SpoolRecord; size: number }
  /** Not enough bytes in the buffer for the whole frame; `size` when the header says it. */
  | { kind: 'incomplete'; size?: number }
  | { kind: 'corrupt'; reason: string };

/**
 * Reads the frame starting at `offset`. `maxBodyBytes` rejects absurd lengths (garbage read
 * as a length) before anything is allocated. Key and value are copies, not views of `buffer`.
 */
export function decodeFrame(buffer: Buffer, offset: number, maxBodyBytes: number): FrameRead {
  const available = buffer.length - offset;
  if (available < FRAME_HEADER_BYTES) return { kind: 'incomplete' };
  const bodyLength = buffer.readUInt32LE(offset);
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > maxBodyBytes) {
    return { kind: 'corrupt', reason: `implausible length ${bodyLength}` };
  }
  const size = FRAME_HEADER_BYTES + bodyLength;
  if (available < size) return { kind: 'incomplete', size };
  const body = buffer.subarray(offset + FRAME_HEADER_BYTES, offset + size);
  if (crc32(body) !== buffer.readUInt32LE(offset + 4)) {
    return { kind: 'corrupt', reason: 'CRC mismatch' };
  }
  const format = body.readUInt8(0);
  const lifecycle = LIFECYCLES[body.readUInt8(1)];
  const keyLength = body.readUInt32LE(20);
  if (format !== FORMAT || lifecycle === undefined || BODY_FIXED_BYTES + keyLength > bodyLength) {
    return { kind: 'corrupt', reason: `unknown format ${format}` };
  }
  const keyEnd = BODY_FIXED_BYTES + keyLength;
  return {
    kind: 'record',
    size,
    record: {
      lifecycle,
      seq: Number(body.readBigUInt64LE(4)),
      appendedAt: Number(body.readBigUInt64LE(12)),
      key: Buffer.from(body.subarray(BODY_FIXED_BYTES, keyEnd)),
      value: Buffer.from(body.subarray(keyEnd)),
    },
  };
}
