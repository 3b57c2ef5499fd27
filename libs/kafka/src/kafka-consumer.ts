import { performance } from 'node:perf_hooks';
import {
  KafkaJSNonRetriableError,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type Kafka,
  type RetryOptions,
} from 'kafkajs';
import { createLogger, type HealthIndicator, type Logger } from '@metering/observability';
import { isRebalancing, isRetriable } from './kafka-error.classifier';
import { ConsumerStateError } from './kafka.errors';
import { type KafkaMetrics } from './kafka.metrics';
import { compareOffsets, isOffset, nextOffset } from './kafka-offsets';

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Epoch milliseconds as a string, as the broker stored it. */
  timestamp: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** In offset order; never empty. */
  messages: readonly ConsumedMessage[];
  firstOffset: string;
  lastOffset: string;
  /** Where to resume after this whole batch (lastOffset + 1): the offset to store. */
  nextOffset: string;
  highWatermark: string;
}

export interface BatchContext {
  /**
   * Aborted when the consumer is stopping or the group is rebalancing: a long handler may
   * stop early by throwing (the batch is then delivered again).
   */
  signal: AbortSignal;
  /** Tells the group this member is alive; the consumer also does so on a timer. */
  heartbeat(): Promise<void>;
}

/**
 * What the handler processed. Returning nothing means the whole batch; a
 * `lastProcessedOffset` of null means none of it (it is fetched again).
 */
export type BatchResult = void | { lastProcessedOffset: string | null };

export type BatchHandler = (
  batch: ConsumedBatch,
  context: BatchContext,
) => Promise<BatchResult> | BatchResult;

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

type AssignmentOutcome = { ok: true } | { ok: false; error: Error };
const SETTLED: AssignmentOutcome = { ok: true };

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
  private readonly signals: readonly NodeJS.Signals[];
  private readonly shutdownTimeoutMs: number;

  private stateValue: ConsumerState = 'new';
  private handler: BatchHandler | undefined;
  private assignmentValue: readonly PartitionAssignment[] = [];
  private assignmentReady: Promise<AssignmentOutcome> = Promise.resolve(SETTLED);
  private readonly activeBatches = new Set<AbortController>();
  private stopping: Promise<void> | undefined;
  private readonly signalListeners = new Map<NodeJS.Signals, () => void>();

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
    this.signals = options.shutdownSignals ?? ['SIGTERM', 'SIGINT'];
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
      allowAutoTopicCreation: false,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.onGroupJoin(event.payload.memberAssignment);
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
    return this.assignmentValue;
  }

  /** Connects, subscribes and starts handing batches to `handler`. */
  async start(handler: BatchHandler): Promise<void> {
    if (this.stateValue !== 'new') {
      throw new ConsumerStateError(`start() on a consumer that is ${this.stateValue}`);
    }
    this.handler = handler;
    this.stateValue = 'running';
    this.installSignalHandlers();
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
        assignment: this.assignmentValue.map(({ topic, partitions }) => ({ topic, partitions })),
      },
    });

  private async stop(): Promise<void> {
    const previous = this.stateValue;
    this.stateValue = 'stopping';
    this.removeSignalHandlers();
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

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const assignment = Object.entries(memberAssignment).map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions].sort((a, b) => a - b),
    }));
    this.assignmentValue = assignment;
    this.logger.info({ assignment }, 'partitions assigned');
    // Runs synchronously inside kafkajs's join, before the first fetch of this generation,
    // so every batch of the generation waits for the seek below.
    const hook = this.options.onPartitionsAssigned;
    if (hook !== undefined) this.assignmentReady = this.seekStoredOffsets(hook, assignment);
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
      const assignment = await this.assignmentReady;
      // Thrown here, kafkajs retries, then restarts the consumer, which rejoins and asks
      // the hook again.
      if (!assignment.ok) throw assignment.error;
      // A seek from the hook supersedes this batch, fetched from the previous position; a
      // paused partition's batch fetched before the pause is not handed out.
      if (payload.isStale() || this.isPaused(batch.topic, batch.partition)) return;
      await this.handle(handler, payload, controller.signal);
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

  /** Runs the handler, resolves what it processed, records metrics, classifies failures. */
  private async handle(
    handler: BatchHandler,
    payload: EachBatchPayload,
    signal: AbortSignal,
  ): Promise<void> {
    const { batch } = payload;
    const consumed = toConsumedBatch(payload);
    const started = performance.now();
    let result: BatchResult;
    try {
      result = await handler(consumed, { signal, heartbeat: () => payload.heartbeat() });
    } catch (error) {
      if (isRetriable(error)) {
        this.logger.warn(
          { err: error, topic: batch.topic, partition: batch.partition },
          'batch failed, will be retried',
        );
        throw error;
      }
      this.logger.fatal(
        {
          err: error,
          topic: batch.topic,
          partition: batch.partition,
          offset: consumed.firstOffset,
        },
        'batch failed with a non-retriable error; stopping the consumer',
      );
      // Non-retriable for kafkajs too: it crashes the consumer without restarting it. The
      // cause lets kafkajs (and onCrash) see the handler's own error.
      throw Object.assign(
        new KafkaJSNonRetriableError(error instanceof Error ? error : String(error)),
        { cause: error },
      );
    }
    const last = result === undefined ? consumed.lastOffset : result.lastProcessedOffset;
    if (last !== null && !withinBatch(consumed, last)) {
      throw new ConsumerStateError(
        `lastProcessedOffset ${last} is outside the batch ${consumed.firstOffset}..${consumed.lastOffset}`,
      );
    }
    if (last !== null) {
      payload.resolveOffset(last);
      const count = consumed.messages.filter((m) => compareOffsets(m.offset, last) <= 0).length;
      this.deps.metrics.consumed(batch.topic, this.options.groupId, count);
    }
    this.deps.metrics.batch('consumer', batch.topic, (performance.now() - started) / 1000);
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

  private installSignalHandlers(): void {
    for (const signal of this.signals) {
      const listener = (): void => {
        this.logger.info({ signal }, 'shutting down on signal');
        void this.shutdownOnSignal(signal);
      };
      this.signalListeners.set(signal, listener);
      process.once(signal, listener);
    }
  }

  private async shutdownOnSignal(signal: NodeJS.Signals): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.logger.error({ timeoutMs: this.shutdownTimeoutMs }, 'shutdown timed out');
        resolve();
      }, this.shutdownTimeoutMs);
    });
    try {
      await Promise.race([this.disconnect(), timeout]);
    } catch (error) {
      this.logger.error({ err: error }, 'error while shutting down');
    } finally {
      clearTimeout(timer);
    }
    // Nobody else handles the signal: restore its default effect (end the process). pino
    // writes stdout asynchronously, so flush first or the last lines are lost.
    if (process.listenerCount(signal) === 0) {
      await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
      process.kill(process.pid, signal);
    }
  }

  private removeSignalHandlers(): void {
    for (const [signal, listener] of this.signalListeners) process.off(signal, listener);
    this.signalListeners.clear();
  }
}

/** kafkajs wraps errors in retry and crash wrappers; the innermost is the informative one. */
function rootCause(error: Error): Error {
  let current = error;
  for (let depth = 0; depth < 10 && current.cause instanceof Error; depth++)
    current = current.cause;
  return current;
}

function withinBatch(batch: ConsumedBatch, offset: string): boolean {
  return (
    isOffset(offset) &&
    compareOffsets(offset, batch.firstOffset) >= 0 &&
    compareOffsets(offset, batch.lastOffset) <= 0
  );
}

/** A kafkajs message as this library hands it out. */
export function toConsumedMessage(
  topic: string,
  partition: number,
  message: EachBatchPayload['batch']['messages'][number],
): ConsumedMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
  };
}

function toConsumedBatch({ batch }: EachBatchPayload): ConsumedBatch {
  const messages = batch.messages.map((message) =>
    toConsumedMessage(batch.topic, batch.partition, message),
  );
  const first = messages[0]!;
  const last = messages[messages.length - 1]!;
  return {
    topic: batch.topic,
    partition: batch.partition,
    messages,
    firstOffset: first.offset,
    lastOffset: last.offset,
    nextOffset: nextOffset(last.offset),
    highWatermark: batch.highWatermark,
  };
}
