import { join } from 'node:path';
import { StateFile } from '@metering/spool';
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
 * domains.json`, a StateFile of @metering/spool), so a restarted collector knows which domains
 * ended while it was down.
 *
 * Written whole every poll that changed it, fsynced (file and directory) when the set of instances changed; other
 * writes only advance readings and last-seen times, and a process crash keeps them anyway (the
 * kernel has them); after a machine crash every VM has ended and the last synced file bounds what
 * is claimed. An unusable file (truncated, NUL bytes, not ours, too large) is reported, never
 * fatal: the collector then starts as if it had no memory, as it did before.
 */
export class FollowedDomainsStore {
  private readonly file: StateFile;
  /** The text of the last successful write. */
  private written: string | null = null;

  constructor(readonly dir: string) {
    this.file = new StateFile(join(dir, 'domains.json'), MAX_FOLLOWED_FILE_BYTES);
  }

  get path(): string {
    return this.file.path;
  }

  load(): LoadedFollowed {
    const read = this.file.read();
    if (read.kind !== 'text') return read;
    const decoded = decodeFollowed(read.text);
    return decoded.ok
      ? { kind: 'loaded', instances: decoded.instances }
      : { kind: 'unusable', problem: decoded.problem };
  }

  /**
   * Replaces the file (tmp + rename); `sync`: the data and the rename reach the disk first.
   * The same text as the last write is not written again (the polls between samples mostly
   * change nothing).
   */
  save(instances: readonly FollowedInstance[], sync: boolean): void {
    const text = encodeFollowed(instances);
    if (!sync && text === this.written) return;
    this.written = null;
    this.file.write(text, sync);
    this.written = text;
  }
}
