import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type PersistedParent,
  type ResidualRecord,
  type ResidualStore,
} from '../collector/collector.ports';

const VERSION = 1;

interface SnapshotFile {
  readonly version: number;
  /** The kernel boot the counters belong to: after a reboot they start again from zero. */
  readonly bootId: string;
  /** Records carry the generation of the snapshot they follow; older ones are in it already. */
  readonly generation: number;
  readonly parents: PersistedParent[];
}

/**
 * The residuals on disk, beside the spool (`<dir>/snapshot.json` and `<dir>/records.jsonl`):
 * a snapshot written whole (temporary file, fsync, rename) once per cycle, and between
 * snapshots one JSON line per change, written before the change is published and tagged with
 * the snapshot's generation (a crash between a snapshot and emptying the records leaves records
 * the snapshot already holds: their generation tells). A write goes to
 * the kernel before the call returns, so it survives a crash of the process, as the spool's
 * samples do. A torn last line (a crash mid-write) is ignored: its sample was not published.
 *
 * When a record cannot be written, the snapshot is removed: a restart then starts the
 * residuals afresh (losing, as before, what exited children used while the collector was down)
 * rather than continue from a state that lacks a published sample (which could count it twice).
 * The next snapshot makes the state whole again.
 */
export class FileResidualStore implements ResidualStore {
  private readonly snapshotPath: string;
  private readonly recordsPath: string;
  private fd: number | null = null;
  /** False after a record failed, until a snapshot is written again. */
  private whole = true;
  private generation = 0;

  constructor(
    private readonly dir: string,
    private readonly bootId: string,
  ) {
    this.snapshotPath = join(dir, 'snapshot.json');
    this.recordsPath = join(dir, 'records.jsonl');
  }

  load(): { parents: PersistedParent[]; records: ResidualRecord[] } | null {
    mkdirSync(this.dir, { recursive: true });
    let snapshot: SnapshotFile;
    try {
      snapshot = JSON.parse(readFileSync(this.snapshotPath, 'utf8')) as SnapshotFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    if (snapshot.version !== VERSION || snapshot.bootId !== this.bootId) return null;
    this.generation = snapshot.generation;
    const records: ResidualRecord[] = [];
    let text = '';
    try {
      text = readFileSync(this.recordsPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const lines = text.split('\n');
    // The last element is '' after a complete line, or a torn write.
    for (const line of lines.slice(0, -1)) {
      const { g, ...record } = JSON.parse(line) as ResidualRecord & { g: number };
      if (g === snapshot.generation) records.push(record);
    }
    return { parents: snapshot.parents, records };
  }

  append(record: ResidualRecord): void {
    if (!this.whole) return;
    try {
      if (this.fd === null) {
        mkdirSync(this.dir, { recursive: true });
        this.fd = openSync(this.recordsPath, 'a');
      }
      writeSync(this.fd, `${JSON.stringify({ ...record, g: this.generation })}\n`);
    } catch (error) {
      this.whole = false;
      rmSync(this.snapshotPath, { force: true });
      throw error;
    }
  }

  save(parents: readonly PersistedParent[]): void {
    mkdirSync(this.dir, { recursive: true });
    const generation = this.generation + 1;
    const file: SnapshotFile = {
      version: VERSION,
      bootId: this.bootId,
      generation,
      parents: [...parents],
    };
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(file));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.snapshotPath);
    this.generation = generation;
    this.whole = true;
    // The records so far are in the snapshot (and of an older generation if this fails).
    if (this.fd === null) this.fd = openSync(this.recordsPath, 'a');
    ftruncateSync(this.fd, 0);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** This boot's id (Linux), or a constant where the file does not exist. */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
