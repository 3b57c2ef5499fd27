import { type SampleEvent } from '@metering/contracts';
import { type InstanceIdentity, type Reading } from './reading';
import { containerSample } from './sample.factory';

export type RecordOutcome = 'accepted' | 'stale' | 'counter-went-back' | 'finalized';

/**
 * One instance of a container (a start of it) and its readings. Readings are frequent (young
 * containers every few hundred ms); samples are published once per cycle, plus the final one.
 *
 * Invariants: readings are kept in time order and the CPU counter never goes back (a reading
 * that would is refused); after `finalize` nothing more is accepted; the final sample carries
 * the last reading, observed at the exit time, so it never has the id of an earlier sample.
 */
export class ContainerInstance {
  private last: Reading | null = null;
  /** The last few readings, oldest first, for `readingBefore`. */
  private readonly recent: Reading[] = [];
  private lastPublishedReading: Reading | null = null;
  private publishedCount = 0;
  private finalizedAt: number | null = null;

  /** Docker's start time on the collector's time line (equal to it while the clocks agree). */
  readonly startedAtMs: number;
  private readonly sampleIdentity: InstanceIdentity;

  constructor(
    readonly identity: InstanceIdentity,
    /** When the collector started tracking it, epoch ms (resync must not end younger ones). */
    readonly trackedSince: number,
    /**
     * `identity.startedAt` (the engine's wall clock) mapped onto the collector's time line
     * (Clock.fromWall), so that a sample's interval from the start is true elapsed time even
     * while the collector clock absorbs a backward step (ADR 0009). Default: unmapped.
     */
    startedAtMs: number = Date.parse(identity.startedAt),
  ) {
    this.startedAtMs = Math.round(startedAtMs);
    const startedAt = new Date(this.startedAtMs).toISOString();
    // instanceId and key stay the engine's (stable across collector restarts).
    this.sampleIdentity = startedAt === identity.startedAt ? identity : { ...identity, startedAt };
  }

  get key(): string {
    return `${this.identity.containerId}@${this.identity.startedAt}`;
  }

  get lastReading(): Reading | null {
    return this.last;
  }

  get lastPublished(): Reading | null {
    return this.lastPublishedReading;
  }

  get finalized(): boolean {
    return this.finalizedAt !== null;
  }

  record(reading: Reading): RecordOutcome {
    if (this.finalizedAt !== null) return 'finalized';
    if (this.last !== null) {
      if (reading.at <= this.last.at) return 'stale';
      if (reading.cpuUsageNs < this.last.cpuUsageNs) return 'counter-went-back';
    }
    this.last = reading;
    this.recent.push(reading);
    if (this.recent.length > 4) this.recent.shift();
    return 'accepted';
  }

  /** The latest reading that had returned by `t` (its counters are at most their value at t). */
  readingBefore(t: number): Reading | null {
    for (let i = this.recent.length - 1; i >= 0; i -= 1) {
      const reading = this.recent[i];
      if (reading !== undefined && reading.doneAt <= t) return reading;
    }
    return null;
  }

  /**
   * A sample of the last reading: `start` for the first, `running` after. Null if there is
   * nothing new — including a reading in the same millisecond as the last sample, which would
   * get the same sample id (ids are per millisecond) and be dropped as a duplicate downstream.
   */
  publish(host: string, hostCores?: number, intervalMs?: number): SampleEvent | null {
    const reading = this.last;
    const previous = this.lastPublishedReading;
    if (reading === null || reading === previous || this.finalizedAt !== null) return null;
    if (previous !== null && Math.floor(reading.at) === Math.floor(previous.at)) return null;
    const lifecycle = this.publishedCount === 0 ? 'start' : 'running';
    const sequence = this.publishedCount;
    this.publishedCount += 1;
    this.lastPublishedReading = reading;
    return containerSample(
      host,
      this.sampleIdentity,
      reading,
      lifecycle,
      reading.at,
      sequence,
      hostCores,
      intervalMs,
    );
  }

  /**
   * Ends the instance. The final sample carries the last reading (the cgroup is gone by the
   * time Docker reports the exit) observed at the exit time — never before the reading itself,
   * nor before the start. Null when the instance was never read (it is then counted as missed;
   * a per-tenant parent cgroup still has its CPU time).
   */
  finalize(
    host: string,
    exitAt: number,
    hostCores?: number,
    intervalMs?: number,
  ): SampleEvent | null {
    if (this.finalizedAt !== null) return null;
    const reading = this.last;
    // +1 ms: a later millisecond than any earlier sample, so a distinct sample id.
    this.finalizedAt = Math.max(exitAt, this.startedAtMs, reading === null ? 0 : reading.at + 1);
    if (reading === null) return null;
    const sequence = this.publishedCount;
    this.publishedCount += 1;
    this.lastPublishedReading = reading;
    return containerSample(
      host,
      this.sampleIdentity,
      reading,
      'final',
      this.finalizedAt,
      sequence,
      hostCores,
      intervalMs,
    );
  }
}
