// The spool's file primitives: whole writes, positioned reads, truncation and directory syncs,
// each looping until the OS has taken every byte (node's FileHandle calls may do less).
import { open, type FileHandle } from 'node:fs/promises';

export async function writeWholeFile(
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

export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

export async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

export async function truncateFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a file's creation, rename or removal durable (the directory entry itself). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}
