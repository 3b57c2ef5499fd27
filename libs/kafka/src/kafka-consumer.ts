// The group consumer: connecting, handing each partition's batch out (heartbeats while it runs,
// aborted on rebalance, held until stored positions are sought), pause/resume/seek, crash and
// stop. Batch shapes: consumed-batch.ts; running the handler and resolving offsets: batch-run.ts;
// assignment and stored positions: partition-assignment.ts; signals: consumer-shutdown.ts.
import { type Consumer, type EachBatchPayload, type Kafka, type RetryOptions } from 'kafkajs';
import { createLogger, type HealthIndicator, type Logger } from '@metering/observability';
import { runBatch } from './batch-run';
import { type BatchHandler } from './consumed-batch';
import { SignalShutdown } from './consumer-shutdown';
import { isRebalancing } from './kafka-error.classifier';
import { ConsumerStateError } from './kafka.errors';
import { type KafkaMetrics } from './kafka.metrics';
import { isOffset } from './kafka-offsets';
import {
  PartitionAssignments,
  type AssignmentHook,
  type PartitionAssignment,
} from './partition-assignment';

export {
  toConsumedMessage,
  type BatchContext,
  type BatchHandler,
  type BatchResult,
  type ConsumedBatch,
  type ConsumedMessage,
} from './consumed-batch';
export {
  type AssignmentHook,
  type PartitionAssignment,
  type PartitionOffset,
} from './partition-assignment';

export interface KafkaConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /**
   * false: the consumer never commits to Kafka; the application stores positions (in its
   * own transaction) and returns them from onPartitionsAssigned. Default true: processed
   * batches are committed to the group.
   */
  autoCommit?: boolean;
  onPartitionsAssigned?: AssignmentHook;
  /**
   * Where a partition without a stored or committed position starts. Default true
   * (earliest): for metering, skipping data is worse than reading it twice.
   */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Upper bound of one partition's fetch, so of one batch. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /**
   * Upper bound of one fetch's response, all partitions together (kafkajs's `maxBytes`). Default
   * 10 MiB. A record is a view of its response, so a record kept past its batch keeps the whole
   * response alive.
   */
  maxBytesPerFetch?: number;
  maxWaitTimeMs?: number;
  /** Partitions handled in parallel; order within a partition always holds. Default 1. */
  partitionsConsumedConcurrently?: number;
  /** kafkajs's retries of a failing batch before the consumer restarts. */
  retry?: RetryOptions;
  /**
   * Signals that stop the consumer cleanly (leave the group, disconnect). If nothing else
   * listens for the signal afterwards, it is raised again so the process ends as it would
   * have. Pass [] when the application (e.g. Nest's shutdown hooks) calls disconnect().
   * Default ['SIGTERM', 'SIGINT'].
   */
  shutdownSignals?: readonly NodeJS.Signals[];
  /** Bound on a signal-triggered shutdown. Default 30 s. */
  shutdownTimeoutMs?: number;
  /**
   * Told when the consumer crashed and kafkajs will not restart it (a fatal handler error,
   * or retries exhausted on a non-retriable broker error), with the original error.
   * Services usually exit so the orchestrator restarts them.
   */
  onCrash?: (error: Error) => void;
}

export type ConsumerState = 'new' | 'running' | 'crashed' | 'stopping' | 'stopped';

/**
 * A kafkajs consumer handing out whole batches per partition, with offsets under the
 * application's control:
 * - eachBatch without auto-resolve: a batch counts as processed only when the handler
 *   returns, so a crash mid-batch re-delivers it (at-least-once at the Kafka level);
 * - with autoCommit off, positions live in the application's store and are sought on every
 *   assignment (exactly-once effect when stored in the same transaction as the results);
 * - heartbeats continue while a long batch is processed;
 * - retriable handler errors are retried by kafkajs with backoff from the same position;
 *   fatal ones stop the consumer (onCrash), rather than loop on a poison batch: handlers
 *   should dead-letter bad messages themselves and return normally.
 */
export class KafkaConsumer {
  private readonly consumer: Consumer;
  private readonly logger: Logger;
  private readonly autoCommit: boolean;
  private readonly heartbeatIntervalMs: number;

  private readonly assignments: PartitionAssignments;
  private readonly shutdown: SignalShutdown;

  private stateValue: ConsumerState = 'new';
  private handler: BatchHandler | undefined;
  private readonly activeBatches = new Set<AbortController>();
  private stopping: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly options: KafkaConsumerOptions,
    private readonly deps: { logger: Logger; metrics: KafkaMetrics },
  ) {
    if (options.topics.length === 0) throw new ConsumerStateError('topics: at least one topic');
    this.logger = createLogger('KafkaConsumer', { parent: deps.logger }).child({
      groupId: options.groupId,
    });
    this.autoCommit = options.autoCommit ?? true;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxBytes: options.maxBytesPerFetch ?? 10_485_760,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
      allowAutoTopicCreation: false,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
    this.assignments = new PartitionAssignments(
      this.consumer,
      options.onPartitionsAssigned,
      this.logger,
    );
    this.shutdown = new SignalShutdown(
      options.shutdownSignals ?? ['SIGTERM', 'SIGINT'],
      options.shutdownTimeoutMs ?? 30_000,
      () => this.disconnect(),
      this.logger,
    );
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.assignments.onGroupJoin(event.payload.memberAssignment);
    });
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.abortActiveBatches('rebalancing');
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.onCrashEvent(event.payload.error, event.payload.restart);
    });
  }

  get state(): ConsumerState {
    return this.stateValue;
  }

  /** The partitions of the latest group join. */
  get assignment(): readonly PartitionAssignment[] {
    return this.assignments.assignment;
  }

  /** Connects, subscribes and starts handing batches to `handler`. */
  async start(handler: BatchHandler): Promise<void> {
    if (this.stateValue !== 'new') {
      throw new ConsumerStateError(`start() on a consumer that is ${this.stateValue}`);
    }
    this.handler = handler;
    this.stateValue = 'running';
    this.shutdown.install();
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning ?? true,
      });
      await this.consumer.run({
        autoCommit: this.autoCommit,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.onBatch(payload),
      });
    } catch (error) {
      await this.disconnect();
      throw error;
    }
    this.logger.info({ topics: this.options.topics, autoCommit: this.autoCommit }, 'consuming');
  }

  /**
   * Stops fetching, waits for the batch in progress, leaves the group and disconnects.
   * Safe to call more than once and from several places (signal, Nest hook).
   */
  disconnect(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  /**
   * Stops fetching these partitions until resume(): batches already fetched for them are dropped
   * unprocessed (their offsets are not resolved), and the pause outlives rebalances for as long as
   * the partition stays with this member. For a partition the application cannot read safely.
   */
  pause(topic: string, partitions: readonly number[]): void {
    const fresh = partitions.filter((p) => !this.isPaused(topic, p));
    if (fresh.length === 0) return;
    this.consumer.pause([{ topic, partitions: [...fresh] }]);
    this.logger.warn({ topic, partitions: fresh }, 'partitions paused');
  }

  resume(topic: string, partitions: readonly number[]): void {
    const paused = partitions.filter((p) => this.isPaused(topic, p));
    if (paused.length === 0) return;
    this.consumer.resume([{ topic, partitions: [...paused] }]);
    this.logger.info({ topic, partitions: paused }, 'partitions resumed');
  }

  /** The next fetch of the partition starts at `offset` (a batch in flight becomes stale). */
  seek(topic: string, partition: number, offset: string): void {
    if (!isOffset(offset))
      throw new ConsumerStateError(`seek to ${offset} of ${topic}/${partition}`);
    this.consumer.seek({ topic, partition, offset });
  }

  isPaused(topic: string, partition: number): boolean {
    return this.consumer
      .paused()
      .some((entry) => entry.topic === topic && entry.partitions.includes(partition));
  }

  /** For HealthRegistry: up while running (kafkajs restarts after transient errors). */
  readonly healthIndicator: HealthIndicator = () =>
    Promise.resolve({
      status: this.stateValue === 'running' ? 'up' : 'down',
      detail: {
        groupId: this.options.groupId,
        state: this.stateValue,
        assignment: this.assignments.assignment.map(({ topic, partitions }) => ({
          topic,
          partitions,
        })),
      },
    });

  private async stop(): Promise<void> {
    const previous = this.stateValue;
    this.stateValue = 'stopping';
    this.shutdown.remove();
    this.abortActiveBatches('stopping');
    try {
      // kafkajs's disconnect stops the runner, waits for the current batch and leaves
      // the group, so the partitions are reassigned at once instead of after the session
      // timeout.
      await this.consumer.disconnect();
    } finally {
      this.stateValue = 'stopped';
      if (previous !== 'new') this.logger.info('consumer disconnected');
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const handler = this.handler;
    if (handler === undefined || batch.messages.length === 0) return;

    const controller = new AbortController();
    this.activeBatches.add(controller);
    let rebalance: Error | undefined;
    let beating = false;
    const beat = async (): Promise<void> => {
      if (beating) return;
      beating = true;
      try {
        await payload.heartbeat();
      } catch (error) {
        if (isRebalancing(error) && error instanceof Error) {
          rebalance ??= error;
          controller.abort(error);
        } else {
          this.logger.warn({ err: error }, 'heartbeat failed during a batch');
        }
      } finally {
        beating = false;
      }
    };
    // Started before waiting for stored offsets: a slow store must not cost the membership.
    const timer = setInterval(() => void beat(), this.heartbeatIntervalMs);
    try {
      const assignment = await this.assignments.ready();
      // Thrown here, kafkajs retries, then restarts the consumer, which rejoins and asks
      // the hook again.
      if (!assignment.ok) throw assignment.error;
      // A seek from the hook supersedes this batch, fetched from the previous position; a
      // paused partition's batch fetched before the pause is not handed out.
      if (payload.isStale() || this.isPaused(batch.topic, batch.partition)) return;
      await runBatch(handler, payload, controller.signal, {
        logger: this.logger,
        metrics: this.deps.metrics,
        groupId: this.options.groupId,
      });
    } catch (error) {
      if (rebalance !== undefined) throw rebalance;
      throw error;
    } finally {
      clearInterval(timer);
      this.activeBatches.delete(controller);
    }
    // Rejoin now rather than at the next fetch; what was resolved stays resolved.
    if (rebalance !== undefined) throw rebalance;
  }

  private onCrashEvent(error: Error, restart: boolean): void {
    if (restart) {
      this.logger.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    if (this.stateValue === 'stopping' || this.stateValue === 'stopped') return;
    this.stateValue = 'crashed';
    const cause = rootCause(error);
    this.logger.fatal({ err: cause }, 'consumer crashed and will not restart');
    this.options.onCrash?.(cause);
  }

  private abortActiveBatches(reason: string): void {
    for (const controller of this.activeBatches) controller.abort(new Error(reason));
  }
}

/** kafkajs wraps errors in retry and crash wrappers; the innermost is the informative one. */
function rootCause(error: Error): Error {
  let current = error;
  for (let depth = 0; depth < 10 && current.cause instanceof Error; depth++)
    current = current.cause;
  return current;
}
