import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type PersistedParent,
  type ResidualRecord,
  type ResidualStore,
} from '../collector/collector.ports';

const VERSION = 1;
/** The records appended after the snapshot of generation N was taken. */
const RECORDS_FILE = /^records-(\d+)\.jsonl$/;
/** Where records went before they had a file per generation (still read, then removed). */
const LEGACY_RECORDS = 'records.jsonl';

interface SnapshotFile {
  readonly version: number;
  /** The kernel boot the counters belong to: after a reboot they start again from zero. */
  readonly bootId: string;
  /** Records carry the generation of the snapshot they follow; older ones are in it already. */
  readonly generation: number;
  readonly parents: PersistedParent[];
}

/** A snapshot waiting to be written, and everyone waiting for it (or for a newer one). */
interface PendingSnapshot {
  readonly generation: number;
  readonly text: string;
  readonly waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

/**
 * The residuals on disk, beside the spool: `<dir>/snapshot.json`, written whole once per cycle
 * (temporary file, fsync, rename: a crash leaves the old snapshot or the new one, complete), and
 * between snapshots one JSON line per change in `<dir>/records-<generation>.jsonl`, written
 * before the change is published. A record's write goes to the kernel before the call returns,
 * so it survives a crash of the process, as the spool's samples do; a torn last line (a crash
 * mid-write) is ignored: its sample was not published.
 *
 * The snapshot is written in the background, one write in flight at a time; a snapshot asked
 * for while one is being written waits, and only the newest waiting one is written. A save
 * takes generation N + 1 at once: the records appended from then on go to a new file, and the
 * files of older generations are removed only once a snapshot of N + 1 or later is on disk.
 * Snapshot N with the records of N, N + 1… after it is therefore, at every moment, the state
 * of the last change: a restart replays the files from the snapshot's generation on, in order
 * (a crash between the rename and the removals leaves files the snapshot holds already: their
 * generation tells). A restarted store appends to a new generation's file, never after a torn line.
 *
 * When a record cannot be written, the snapshot is removed, and no snapshot taken before the
 * failure may be put in place any more (the check and the rename run without yielding): a
 * restart then starts the residuals afresh (losing, as before, what exited children used while
 * the collector was down) rather than continue from a state that lacks a published sample
 * (which could count it twice). The next snapshot taken makes the state whole again.
 */
export class FileResidualStore implements ResidualStore {
  private readonly snapshotPath: string;
  private readonly tmpPath: string;
  private fd: number | null = null;
  /** The generation of the records file appended to now (that of the last snapshot taken). */
  private generation = 0;
  /** Records of this generation and older ones are incomplete: their snapshots may not stand. */
  private brokenThrough = -1;
  /** Generations whose records file may exist. */
  private readonly recordFiles = new Set<number>();
  private scanned = false;
  private legacyRecords = true;
  private pending: PendingSnapshot | null = null;
  private writing: Promise<void> | null = null;
  private written = 0;

  constructor(
    private readonly dir: string,
    private readonly bootId: string,
  ) {
    this.snapshotPath = join(dir, 'snapshot.json');
    this.tmpPath = `${this.snapshotPath}.tmp`;
  }

  /** Snapshots put in place so far (a waiting one replaced by a newer one is never written). */
  get snapshotsWritten(): number {
    return this.written;
  }

  load(): { parents: PersistedParent[]; records: ResidualRecord[] } | null {
    this.scan();
    let snapshot: SnapshotFile;
    try {
      snapshot = JSON.parse(readFileSync(this.snapshotPath, 'utf8')) as SnapshotFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.dropRecords();
      return null;
    }
    if (snapshot.version !== VERSION || snapshot.bootId !== this.bootId) {
      this.dropRecords();
      return null;
    }
    const files = [...this.recordFiles]
      .filter((g) => g >= snapshot.generation)
      .sort((a, b) => a - b)
      .map((g) => this.recordsPath(g));
    const records: ResidualRecord[] = [];
    for (const file of [join(this.dir, LEGACY_RECORDS), ...files]) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      // The last element is '' after a complete line, or a torn write.
      for (const line of text.split('\n').slice(0, -1)) {
        const { g, ...record } = JSON.parse(line) as ResidualRecord & { g: number };
        if (g >= snapshot.generation) records.push(record);
      }
    }
    // Appends go to a file of their own, after every file replayed (never after a torn line).
    this.generation = Math.max(this.generation, snapshot.generation) + 1;
    return { parents: snapshot.parents, records };
  }

  append(record: ResidualRecord): void {
    this.scan();
    if (this.brokenThrough >= this.generation) return;
    try {
      if (this.fd === null) {
        mkdirSync(this.dir, { recursive: true });
        this.recordFiles.add(this.generation);
        this.fd = openSync(this.recordsPath(this.generation), 'a');
      }
      writeSync(this.fd, `${JSON.stringify({ ...record, g: this.generation })}\n`);
    } catch (error) {
      this.brokenThrough = this.generation;
      rmSync(this.snapshotPath, { force: true });
      throw error;
    }
  }

  save(parents: readonly PersistedParent[]): Promise<void> {
    this.scan();
    const generation = this.generation + 1;
    const file: SnapshotFile = {
      version: VERSION,
      bootId: this.bootId,
      generation,
      parents: [...parents],
    };
    const text = JSON.stringify(file);
    // The records from now on follow this snapshot (the state is whole again).
    this.generation = generation;
    this.closeRecords();
    const waiters = this.pending?.waiters ?? [];
    const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    this.pending = { generation, text, waiters };
    this.writeNext();
    return done;
  }

  /** Resolves once no snapshot is being written or waiting. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  close(): void {
    this.closeRecords();
  }

  /** Starts writing the newest snapshot waiting, unless a write is in flight. */
  private writeNext(): void {
    const job = this.pending;
    if (this.writing !== null || job === null) return;
    this.pending = null;
    const settle = (outcome: () => void): void => {
      // Done before the waiters hear of it: a save they then ask for starts at once.
      this.writing = null;
      outcome();
      this.writeNext();
    };
    this.writing = this.write(job).then(
      () => settle(() => job.waiters.forEach((w) => w.resolve())),
      (error: unknown) => settle(() => job.waiters.forEach((w) => w.reject(error))),
    );
  }

  private async write(job: PendingSnapshot): Promise<void> {
    // A record after this snapshot was lost: it must not stand (a newer one will).
    if (job.generation <= this.brokenThrough) return;
    mkdirSync(this.dir, { recursive: true });
    const handle = await open(this.tmpPath, 'w');
    try {
      await handle.writeFile(job.text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (job.generation <= this.brokenThrough) {
      await rm(this.tmpPath, { force: true });
      return;
    }
    // From the check to the rename without yielding: no failed record comes in between.
    renameSync(this.tmpPath, this.snapshotPath);
    this.written += 1;
    // The records of older generations are in it. Best effort: a file left over is ignored by
    // a restart (its generation tells) and removed after the next snapshot.
    for (const g of [...this.recordFiles]) {
      if (g >= job.generation) continue;
      await rm(this.recordsPath(g), { force: true }).then(
        () => this.recordFiles.delete(g),
        () => undefined,
      );
    }
    if (this.legacyRecords) {
      await rm(join(this.dir, LEGACY_RECORDS), { force: true }).then(
        () => (this.legacyRecords = false),
        () => undefined,
      );
    }
  }

  /** Finds the records files an earlier run left (once). */
  private scan(): void {
    if (this.scanned) return;
    mkdirSync(this.dir, { recursive: true });
    for (const name of readdirSync(this.dir)) {
      const match = RECORDS_FILE.exec(name);
      if (match === null) continue;
      const g = Number(match[1]);
      this.recordFiles.add(g);
      this.generation = Math.max(this.generation, g);
    }
    this.scanned = true;
  }

  /** Records no snapshot of this boot refers to: removed, so that none is ever replayed. */
  private dropRecords(): void {
    this.closeRecords();
    for (const g of this.recordFiles) rmSync(this.recordsPath(g), { force: true });
    this.recordFiles.clear();
    rmSync(join(this.dir, LEGACY_RECORDS), { force: true });
    this.legacyRecords = false;
    this.generation += 1;
  }

  private closeRecords(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private recordsPath(generation: number): string {
    return join(this.dir, `records-${generation}.jsonl`);
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
