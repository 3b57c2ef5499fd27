/** A partition whose batches have failed since `sinceMs`, most recently with `lastError`. */
export interface FailingPartition {
  readonly topic: string;
  readonly partition: number;
  readonly failingSeconds: number;
  readonly attempts: number;
  readonly lastError: string;
}

/**
 * Which partitions' batches keep failing, and since when. A batch that fails for an infrastructure
 * reason is retried from the stored offset (nothing is skipped), so a database down for an hour
 * holds its partitions for an hour: that must show — on /healthz once it lasts longer than the
 * stall limit, and as rating_partition_failing_seconds from the first failure — not look like a
 * quiet, healthy consumer.
 */
export class PartitionFailures {
  private readonly byPartition = new Map<
    string,
    { topic: string; partition: number; sinceMs: number; attempts: number; lastError: string }
  >();

  constructor(
    private readonly stallMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  failed(topic: string, partition: number, error: unknown): void {
    const key = `${topic}\u0000${partition}`;
    const entry = this.byPartition.get(key);
    const lastError = describe(error);
    if (entry === undefined) {
      this.byPartition.set(key, {
        topic,
        partition,
        sinceMs: this.clock(),
        attempts: 1,
        lastError,
      });
    } else {
      entry.attempts += 1;
      entry.lastError = lastError;
    }
  }

  succeeded(topic: string, partition: number): void {
    this.byPartition.delete(`${topic}\u0000${partition}`);
  }

  failing(nowMs: number = this.clock()): FailingPartition[] {
    return [...this.byPartition.values()].map((e) => ({
      topic: e.topic,
      partition: e.partition,
      failingSeconds: Math.max(0, (nowMs - e.sinceMs) / 1000),
      attempts: e.attempts,
      lastError: e.lastError,
    }));
  }

  /** The partitions failing for longer than the stall limit. */
  stalled(nowMs: number = this.clock()): FailingPartition[] {
    return this.failing(nowMs).filter((f) => f.failingSeconds * 1000 >= this.stallMs);
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
