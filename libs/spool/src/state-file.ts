import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export type StateFileRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'unusable'; readonly problem: string };

/**
 * A collector's small state file beside its spool (the instances it follows), shared by both
 * collectors: written whole (a temporary file, then a rename over the old one, so a crash leaves
 * the old or the new file, never a mix), read back with its faults reported, never thrown: a file
 * larger than `maxBytes` (refused by its size, unread), holding NUL bytes (a torn or zero-filled
 * write), or unreadable is `unusable` with the reason. Parsing the text is the caller's.
 */
export class StateFile {
  private readonly tmp: string;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {
    this.tmp = `${path}.tmp`;
  }

  read(): StateFileRead {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'unusable', problem: `cannot be opened: ${(error as Error).message}` };
    }
    try {
      const size = fstatSync(fd).size;
      if (size > this.maxBytes) {
        return {
          kind: 'unusable',
          problem: `${size} bytes, more than the ${this.maxBytes} a state file may have`,
        };
      }
      const buffer = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, buffer, read, size - read, read);
        if (n === 0) break;
        read += n;
      }
      if (buffer.includes(0)) {
        return { kind: 'unusable', problem: 'holds NUL bytes (a torn or zero-filled write)' };
      }
      return { kind: 'text', text: buffer.subarray(0, read).toString('utf8') };
    } catch (error) {
      return { kind: 'unusable', problem: `cannot be read: ${(error as Error).message}` };
    } finally {
      closeSync(fd);
    }
  }

  /** Replaces the file; `sync`: the data and the rename reach the disk before it returns. */
  write(text: string | Uint8Array, sync: boolean): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const fd = openSync(this.tmp, 'w');
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmp, this.path);
    if (sync) {
      const dirFd = openSync(dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
  }
}
