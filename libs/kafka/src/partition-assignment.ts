// Partition assignment: the partitions of each group join and, when the application keeps its
// own positions (autoCommit off), seeking them before any batch of the new generation is handed
// out; batches wait on `ready` for that.
import { type Consumer } from 'kafkajs';
import { type Logger } from '@metering/observability';
import { ConsumerStateError } from './kafka.errors';
import { isOffset } from './kafka-offsets';

export interface PartitionAssignment {
  topic: string;
  partitions: readonly number[];
}

/** A stored position: the next offset to consume (last processed + 1). */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Called after every group join with this member's partitions. Return stored positions
 * to resume from; partitions left out start from the group's committed offset (or
 * `fromBeginning`). No batch of an assigned partition is handed out before it settles.
 */
export type AssignmentHook = (
  assignment: readonly PartitionAssignment[],
) => Promise<readonly PartitionOffset[] | void>;

export type AssignmentOutcome = { ok: true } | { ok: false; error: Error };
const SETTLED: AssignmentOutcome = { ok: true };

export class PartitionAssignments {
  private current: readonly PartitionAssignment[] = [];
  private settled: Promise<AssignmentOutcome> = Promise.resolve(SETTLED);

  constructor(
    private readonly consumer: Consumer,
    private readonly hook: AssignmentHook | undefined,
    private readonly logger: Logger,
  ) {}

  /** The partitions of the latest group join. */
  get assignment(): readonly PartitionAssignment[] {
    return this.current;
  }

  /** Settles once the stored positions of the latest join are sought (or failed to load). */
  ready(): Promise<AssignmentOutcome> {
    return this.settled;
  }

  onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const assignment = Object.entries(memberAssignment).map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions].sort((a, b) => a - b),
    }));
    this.current = assignment;
    this.logger.info({ assignment }, 'partitions assigned');
    // Runs synchronously inside kafkajs's join, before the first fetch of this generation,
    // so every batch of the generation waits for the seek below.
    const hook = this.hook;
    if (hook !== undefined) this.settled = this.seekStoredOffsets(hook, assignment);
  }

  private async seekStoredOffsets(
    hook: AssignmentHook,
    assignment: readonly PartitionAssignment[],
  ): Promise<AssignmentOutcome> {
    try {
      const offsets = (await hook(assignment)) ?? [];
      for (const { topic, partition, offset } of offsets) {
        const assigned = assignment.some(
          (entry) => entry.topic === topic && entry.partitions.includes(partition),
        );
        if (!assigned) {
          this.logger.warn({ topic, partition }, 'stored offset for an unassigned partition');
          continue;
        }
        if (!isOffset(offset)) {
          throw new ConsumerStateError(`stored offset ${offset} of ${topic}/${partition}`);
        }
        this.consumer.seek({ topic, partition, offset });
      }
      this.logger.info({ offsets }, 'resuming from stored offsets');
      return SETTLED;
    } catch (error) {
      this.logger.error({ err: error }, 'could not load stored offsets');
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
}
