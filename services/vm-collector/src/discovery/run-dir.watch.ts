import { type FSWatcher, watch } from 'node:fs';

/**
 * Tells when a domain of the local QEMU driver may have started, stopped or changed state,
 * without asking libvirtd: libvirtd keeps each running domain's status in its run directory
 * (`/run/libvirt/qemu/<name>.xml`, and QEMU's `<name>.pid`), written when the domain starts or
 * changes state and removed when it stops. The directory is watched with inotify (fs.watch),
 * so a process with nothing happening is not woken at all; what the change was is left to the
 * poll it triggers (the listing of running ids is the truth, the files only a hint).
 *
 * A directory that cannot be watched (missing, not readable, the watch failing later) leaves
 * the watch inactive: the caller then polls as without it, and `ensure()` tries again.
 */
export class RunDirWatch {
  private watcher: FSWatcher | null = null;
  private lastError: string | null = null;

  constructor(
    readonly dir: string,
    /** Called on every change in the directory (a burst of them for one start). */
    private readonly changed: () => void,
  ) {}

  /** Watches the directory unless it already does; whether it watches now. */
  ensure(): boolean {
    if (this.watcher !== null) return true;
    try {
      const watcher = watch(this.dir, { persistent: false }, () => this.changed());
      watcher.on('error', (error: unknown) => {
        // The directory went away or the watch broke: inactive until ensure() succeeds again,
        // and a change may have been missed, so the caller looks now.
        this.lastError = error instanceof Error ? error.message : String(error);
        if (this.watcher === watcher) this.watcher = null;
        watcher.close();
        this.changed();
      });
      this.watcher = watcher;
      this.lastError = null;
      return true;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  active(): boolean {
    return this.watcher !== null;
  }

  /** Why the directory is not watched; null while it is (or before the first try). */
  error(): string | null {
    return this.lastError;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}
