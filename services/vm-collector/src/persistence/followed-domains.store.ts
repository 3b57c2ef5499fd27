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
import { join } from 'node:path';
import { type FollowedInstance, decodeFollowed, encodeFollowed } from '../sampling';

/**
 * A state file larger than this is not read (an instance takes under 1 KB: 64 MiB is tens of
 * thousands of VMs, far more than a host runs); it is logged and the collector starts afresh.
 */
export const MAX_FOLLOWED_FILE_BYTES = 64 * 1024 * 1024;

export type LoadedFollowed =
  | { readonly kind: 'none' }
  | { readonly kind: 'loaded'; readonly instances: FollowedInstance[] }
  | { readonly kind: 'unusable'; readonly problem: string };

/**
 * The instances the collector follows, on disk beside the spool (`<SPOOL_DIR>/followed/
 * domains.json`), so a restarted collector knows which domains ended while it was down.
 *
 * Written whole every poll: a temporary file, then a rename over the old one, so a crash leaves
 * the old or the new file, never a mix. It is fsynced (file and directory) when the set of
 * instances changed; other writes only advance readings and last-seen times, and a process crash
 * keeps them anyway (the kernel has them); after a machine crash every VM has ended and the last
 * synced file bounds what is claimed. An unusable file (truncated, NUL bytes, not ours, too large)
 * is reported, never fatal: the collector then starts as if it had no memory, as it did before.
 */
export class FollowedDomainsStore {
  readonly path: string;
  private readonly tmp: string;

  constructor(readonly dir: string) {
    this.path = join(dir, 'domains.json');
    this.tmp = `${this.path}.tmp`;
  }

  load(): LoadedFollowed {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'unusable', problem: `cannot be opened: ${(error as Error).message}` };
    }
    try {
      const size = fstatSync(fd).size;
      if (size > MAX_FOLLOWED_FILE_BYTES) {
        return {
          kind: 'unusable',
          problem: `${size} bytes, more than the ${MAX_FOLLOWED_FILE_BYTES} a state file may have`,
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
      const decoded = decodeFollowed(buffer.subarray(0, read).toString('utf8'));
      return decoded.ok
        ? { kind: 'loaded', instances: decoded.instances }
        : { kind: 'unusable', problem: decoded.problem };
    } catch (error) {
      return { kind: 'unusable', problem: `cannot be read: ${(error as Error).message}` };
    } finally {
      closeSync(fd);
    }
  }

  /** Replaces the file (tmp + rename); `sync`: the data and the rename reach the disk first. */
  save(instances: readonly FollowedInstance[], sync: boolean): void {
    mkdirSync(this.dir, { recursive: true });
    const fd = openSync(this.tmp, 'w');
    try {
      writeSync(fd, encodeFollowed(instances));
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmp, this.path);
    if (sync) {
      const dirFd = openSync(this.dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
  }
}
