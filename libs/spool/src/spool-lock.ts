// The spool directory's owner: one process, one DiskSpool per directory, said by a LOCK file
// holding the pid (and, within this process, by the set of directories it has open).
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolLockedError } from './spool.errors';
import { isErrno, writeWholeFile } from './spool-files';

const LOCK_FILE = 'LOCK';

/** Spool directories opened by this process; the lock file cannot tell them apart. */
const openDirs = new Set<string>();

export async function acquireLock(dir: string): Promise<void> {
  if (openDirs.has(dir)) throw new SpoolLockedError(dir, process.pid);
  const path = join(dir, LOCK_FILE);
  try {
    await writeWholeFile(path, Buffer.from(`${process.pid}\n`), false, 'wx');
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    // Our own pid in the file is an earlier life of this process id (a container restarts
    // as pid 1 again), since openDirs says this process has not opened it.
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new SpoolLockedError(dir, holder);
    }
    await writeWholeFile(path, Buffer.from(`${process.pid}\n`), false);
  }
  openDirs.add(dir);
}

export async function releaseLock(dir: string): Promise<void> {
  openDirs.delete(dir);
  await unlink(join(dir, LOCK_FILE)).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}
