import { closeSync, constants, openSync, readSync } from 'node:fs';

const INITIAL_BUFFER = 16 * 1024;
const MAX_BUFFER = 4 * 1024 * 1024;

/**
 * One growable buffer that files are read whole into, from offset 0, with pread(2): no buffer
 * of its own per read and no fstat. A read returns a view of the buffer, valid until the next
 * read through the same ScratchBuffer (everything here is synchronous).
 */
export class ScratchBuffer {
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER);

  /** The whole file behind `fd`, read from offset 0 (a cgroup file is generated afresh). */
  readWhole(fd: number): Buffer {
    let length = 0;
    for (;;) {
      const room = this.buffer.length - length;
      const n = readSync(fd, this.buffer, length, room, length);
      length += n;
      // A short read is the end: kernfs fills the buffer up to the file's end in one call.
      if (n < room) break;
      if (this.buffer.length >= MAX_BUFFER) {
        throw new Error(`cgroup file larger than ${MAX_BUFFER} bytes`);
      }
      const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(bigger, 0, 0, length);
      this.buffer = bigger;
    }
    return this.buffer.subarray(0, length);
  }

  /**
   * A file read by path: open, one pread, close. readFileSync costs an fstat, a buffer (and for
   * text, a string) besides, on every one of the thousands of files a cycle reads by path.
   * Errors are the open's or read's own (ENOENT, ENODEV), as readFileSync throws them.
   */
  readPath(path: string): Buffer {
    const fd = openSync(path, constants.O_RDONLY);
    try {
      return this.readWhole(fd);
    } finally {
      closeSync(fd);
    }
  }
}
