/**
 * Which tenants' months this instance prices as soon as its batches commit (docs/adr/0014,
 * "Pass affinity"). A tenant whose resources are on every partition has its months touched by
 * every instance's batches; when each instance priced the months its batches touched, every
 * tenant month was priced by all of them, in smaller passes (two instances: ×1.4 passes that
 * charged, ×1.85 that read pieces). Now each tenant has one owner: the instance assigned the
 * samples partition its id hashes to. Others leave its pieces to the owner's next pass or its
 * sweep (for pieces older than RATING_PRICING_INTERVAL_MS), so charges lag by the sweep at most.
 * Nothing depends on it for correctness: the month's lease keeps one pricer at a time, and any
 * instance's sweep prices a month whose work is five intervals overdue (its owner is gone or
 * behind: during a rebalance, or while the topic grows).
 */
export class TenantAffinity {
  /** The assigned partitions, or every one (one instance, or before any assignment). */
  private owned: ReadonlySet<number> | 'all' = 'all';
  private partitions: number;

  /**
   * @param partitions the samples topic's partitions as configured (SAMPLES_TOPIC_PARTITIONS),
   *   until an assignment says how many the topic has.
   */
  constructor(partitions: number) {
    if (!isCount(partitions)) {
      throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
    }
    this.partitions = partitions;
  }

  /**
   * The samples partitions the consumer was assigned (every assignment), and how many the topic
   * has as the broker listed them (every instance reads the same count, so they agree on owners;
   * absent or not a count: the configured one).
   */
  assigned(partitions: readonly number[], topicPartitions?: number | null): void {
    if (topicPartitions != null && isCount(topicPartitions)) this.partitions = topicPartitions;
    const owned = new Set(
      partitions.filter((p) => Number.isInteger(p) && p >= 0 && p < this.partitions),
    );
    this.owned = owned.size === this.partitions ? 'all' : owned;
  }

  owns(tenantId: string): boolean {
    return this.owned === 'all' || this.owned.has(tenantPartition(tenantId, this.partitions));
  }
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

/** The partition a tenant's months belong to: FNV-1a of the id's UTF-16 units, mod partitions. */
export function tenantPartition(tenantId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i++) {
    h ^= tenantId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
