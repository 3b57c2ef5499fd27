// The spooled publisher's memory → disk half: published samples queue in memory and are appended
// to the DiskSpool every lingerMs (at once for a full batch), one append at a time; a failed
// append keeps them in front, in order, and is retried after a backoff; memory sheds old running
// samples only while the disk refuses them.
import { backoffDelay, type Logger } from '@metering/observability';
import { type DiskSpool } from './disk-spool';
import { errorText, retryBackoff } from './publisher-support';
import { type SpoolSettings } from './spool.config';
import { type SpoolMetrics } from './spool.metrics';
import { type SpoolRecordInput } from './spool-record';

export interface PendingWriterHooks {
  /** Records reached the spool: the forwarder may have work. */
  appended(): void;
  /** Whether a failed append is to be retried (not while closing). */
  running(): boolean;
}

export class PendingWriter {
  private pending: SpoolRecordInput[] = [];
  private pendingSince = 0;
  /** Records taken from `pending` whose disk append has not finished. */
  private unwritten = 0;
  private writeTimer: NodeJS.Timeout | undefined;
  /** The write timer is armed with no delay. */
  private writeDue = false;
  private writing: Promise<void> = Promise.resolve();
  private writeFailures = 0;
  /** The last spool write error while writes are failing. */
  writeError: string | null = null;

  constructor(
    private readonly spool: DiskSpool,
    private readonly settings: SpoolSettings,
    private readonly metrics: SpoolMetrics,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly hooks: PendingWriterHooks,
  ) {}

  /** Samples in memory, not yet on disk. */
  count(): number {
    return this.pending.length + this.unwritten;
  }

  /** When the oldest sample in memory was queued; undefined when none is. */
  oldestSince(): number | undefined {
    return this.count() > 0 ? this.pendingSince : undefined;
  }

  /** Queues a record for the next append. */
  queue(record: SpoolRecordInput): void {
    if (this.pending.length === 0) this.pendingSince = this.now();
    this.pending.push(record);
    this.metrics.samplesPublished(1);
    if (this.pending.length > this.settings.maxPendingRecords) this.shedPending();
    this.scheduleWrite(
      this.pending.length >= this.settings.maxBatchRecords ? 0 : this.settings.lingerMs,
    );
  }

  /** Appends what is pending now rather than after the linger. */
  writeNow(): void {
    if (this.pending.length === 0) return;
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    void this.writePending();
  }

  /**
   * On close: appends what is pending one last time; what still cannot be written is counted,
   * logged and let go.
   */
  async close(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.writePending();
    const unwritable = this.pending.length;
    if (unwritable > 0) {
      this.metrics.recordsDropped('memory_full', unwritable);
      this.logger.error(
        { lost: unwritable, error: this.writeError },
        `closing with ${unwritable} samples that could not be written to the spool`,
      );
      this.pending = [];
    }
  }

  private scheduleWrite(delayMs: number): void {
    if (this.writeTimer !== undefined) {
      // Already due at once (a full batch): every later publish of the same tick joins it.
      if (delayMs > 0 || this.writeDue) return;
      clearTimeout(this.writeTimer);
    }
    this.writeDue = delayMs === 0;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      this.writeDue = false;
      void this.writePending();
    }, delayMs);
  }

  /** Appends everything pending, one append at a time; never rejects. */
  private writePending(): Promise<void> {
    this.writing = this.writing.then(() => this.writeOnce());
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.unwritten = batch.length;
      try {
        await this.spool.append(batch);
        this.unwritten = 0;
        if (this.writeFailures > 0) {
          this.logger.info({ failures: this.writeFailures }, 'spool writes work again');
        }
        this.writeFailures = 0;
        this.writeError = null;
        this.hooks.appended();
      } catch (error) {
        // Back in front, order kept; retried after a backoff while the publisher runs.
        this.unwritten = 0;
        this.pending = batch.concat(this.pending);
        this.writeFailures++;
        this.writeError = errorText(error);
        this.metrics.writeFailed();
        if (this.pending.length > this.settings.maxPendingRecords) this.shedPending();
        this.logger.error(
          { err: error, pending: this.pending.length, failures: this.writeFailures },
          'could not append to the spool; samples stay in memory',
        );
        if (this.hooks.running()) {
          this.scheduleWrite(backoffDelay(this.writeFailures, retryBackoff(this.settings)));
        }
        return;
      }
    }
  }

  /**
   * Only while disk appends fail can memory fill up: drops the oldest running samples down
   * to 90% of maxPendingRecords; start and final samples are kept whatever it costs.
   */
  private shedPending(): void {
    const target = Math.floor(this.settings.maxPendingRecords * 0.9);
    let excess = this.pending.length - target;
    let dropped = 0;
    this.pending = this.pending.filter((record) => {
      if (excess > 0 && record.lifecycle === 'running') {
        excess--;
        dropped++;
        return false;
      }
      return true;
    });
    if (dropped > 0) {
      this.metrics.recordsDropped('memory_full', dropped);
      this.logger.warn(
        { dropped, pending: this.pending.length, max: this.settings.maxPendingRecords },
        `spool unwritable and memory queue full: dropped ${dropped} of the oldest running samples`,
      );
    }
  }
}
