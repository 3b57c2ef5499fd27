// The offset continuity guard (ADR 0008): decides each assigned partition and each batch against
// the ledger's position and the broker's watermarks, applies the verdicts (pause, resume, seek)
// and polls stopped partitions for an operator's decision. Partition states:
// offset-continuity.state.ts; metrics and /healthz: stopped-partitions.report.ts.
import {
  type ConsumedBatch,
  type KafkaAdmin,
  type PartitionAssignment,
  type PartitionOffset,
} from '@metering/kafka';
import {
  type HealthIndicator,
  type Logger,
  type MetricsRegistry,
  createLogger,
} from '@metering/observability';
import {
  type ContinuityVerdict,
  type FoundMessage,
  continuesAt,
  decideContinuity,
} from '../domain/offset-continuity';
import { type OffsetPositionStore, type StoredPosition } from '../ledger/offset-position.store';
import { messageFingerprint } from './message-fingerprint';
import {
  type Admission,
  FOLLOW_RECORD_BATCH_MS,
  type PartitionControl,
  type PartitionState,
  expectedOf,
} from './offset-continuity.state';
import { StoppedPartitionsReport } from './stopped-partitions.report';

export { type Admission, type PartitionControl } from './offset-continuity.state';

export interface OffsetContinuityGuardOptions {
  readonly groupId: string;
  readonly topic: string;
  /** How often stopped partitions look for an operator's decision in the ledger. */
  readonly pollMs: number;
}

/**
 * Offset continuity (docs/adr/0008-offset-continuity.md): before rating reads a partition from
 * the position stored in the ledger, before every batch (which must begin with the message the
 * previous one ended with), and whenever a batch does not start where the position says, it
 * checks the position still belongs to the log (domain/offset-continuity.ts). A
 * partition that fails is paused — the others keep running — and shown on /healthz, in
 * `rating_partition_stopped{topic,partition,reason}` and in the logs, until an operator's
 * decision (`rating offsets`, which rewrites the stored position) is seen in the ledger; then it
 * resumes from there without a restart. Nothing of it is ever skipped or rated on a guess.
 */
export class OffsetContinuityGuard {
  private readonly logger: Logger;
  private readonly states = new Map<number, PartitionState>();
  private readonly report: StoppedPartitionsReport;
  private control: PartitionControl | undefined;
  private partitionCount: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<OffsetPositionStore, 'positions'>,
    private readonly admin: Pick<KafkaAdmin, 'watermarks'>,
    metrics: MetricsRegistry,
    logger: Logger,
    private readonly options: OffsetContinuityGuardOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = createLogger('OffsetContinuityGuard', { parent: logger });
    this.report = new StoppedPartitionsReport(metrics, options.topic);
  }

  /** The topic's partitions, as the broker listed them at the last assignment (null: none yet). */
  get topicPartitions(): number | null {
    return this.partitionCount;
  }

  /** The consumer, once created (the assignment hook is given before it exists). */
  attach(control: PartitionControl): void {
    this.control = control;
  }

  /** Polls the stopped partitions for operators' decisions. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.polling ??= this.poll()
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, 'offset decisions: poll failed'),
        )
        .finally(() => (this.polling = undefined));
    }, this.options.pollMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /**
   * The assignment hook: decides each assigned partition of the topic from the ledger's position
   * and the broker's watermarks. Returns where to seek (stored, or stored - 1 to verify), pauses
   * the partitions that must not be read and resumes those that may again.
   */
  async onAssigned(assignment: readonly PartitionAssignment[]): Promise<PartitionOffset[]> {
    const { topic, groupId } = this.options;
    const partitions = assignment.find((a) => a.topic === topic)?.partitions ?? [];
    for (const p of [...this.states.keys()]) {
      if (!partitions.includes(p)) this.forget(p);
    }
    if (partitions.length === 0) return [];
    const [positions, marks] = await Promise.all([
      this.store.positions(groupId, topic, partitions),
      this.watermarks(),
    ]);
    this.partitionCount = marks.size;
    const seeks: PartitionOffset[] = [];
    for (const partition of partitions) {
      this.ensureSeries(partition);
      const position = positions.get(partition) ?? null;
      const seek = this.apply(partition, position, marks, 'unread', 'assignment');
      if (seek !== null) seeks.push({ topic, partition, offset: seek.toString() });
    }
    return seeks;
  }

  /**
   * Before a batch is rated: in line with the position, it is rated (less the message read to
   * verify the fingerprint); otherwise the continuity is decided again first.
   */
  async admit(batch: ConsumedBatch): Promise<Admission> {
    const state = this.states.get(batch.partition) ?? { kind: 'running', expected: null };
    const first = BigInt(batch.firstOffset);
    switch (state.kind) {
      case 'stopped':
        this.control?.pause(batch.topic, [batch.partition]);
        return { kind: 'hold' };
      case 'running':
        if (continuesAt(state.expected, first)) return { kind: 'rate', batch };
        return this.recheck(batch, `batch at ${first} where ${state.expected} was expected`);
      case 'verifying': {
        if (first < state.at) {
          return this.recheck(batch, `batch at ${first} where ${state.at} was sought`);
        }
        // first > at: the log holds no message at stored - 1 (a transaction marker), or it was
        // deleted meanwhile; recheck tells which.
        if (first > state.at) return this.recheck(batch, null, state.at);
        const head = batch.messages[0]!;
        if (
          state.fingerprint === null ||
          messageFingerprint(head).toString('hex') !== state.fingerprint
        ) {
          // Decided with the ledger's fingerprint (an operator may have moved the position).
          return this.recheck(batch, null, state.at);
        }
        const rest = batch.messages.slice(1);
        if (rest.length === 0) {
          const caughtUp = BigInt(batch.highWatermark) <= state.at + 1n;
          this.states.set(batch.partition, {
            kind: 'idle',
            expected: state.at + 1n,
            fingerprint: state.fingerprint,
            followUntilMs: caughtUp ? 0 : this.now() + FOLLOW_RECORD_BATCH_MS,
          });
          return { kind: 'verified' };
        }
        return { kind: 'rate', batch: { ...batch, messages: rest, firstOffset: rest[0]!.offset } };
      }
      case 'idle':
        if (first !== state.expected) {
          return this.recheck(batch, `batch at ${first} where ${state.expected} was expected`);
        }
        // The next record batch, fetched right after the check: in line.
        if (this.now() < state.followUntilMs) return { kind: 'rate', batch };
        // New messages after a pause: read again from the one before them, to verify it.
        this.states.set(batch.partition, {
          kind: 'verifying',
          at: state.expected - 1n,
          fingerprint: state.fingerprint,
        });
        this.control?.seek(batch.topic, batch.partition, (state.expected - 1n).toString());
        return { kind: 'hold' };
    }
  }

  /**
   * After a batch committed: the next fetch starts again at its last message, which the next
   * batch must begin with (the same fingerprint the ledger stored with the offset). So every
   * batch is verified against the one before it, before it is rated: a topic replaced between
   * two batches (deleted, recreated and refilled past the position) is stopped, not read on.
   * Costs one message fetched twice per batch. Also called for a batch the batch window holds
   * (not committed yet): the fetches of one window are verified against each other the same way.
   */
  committed(batch: ConsumedBatch): void {
    const state = this.states.get(batch.partition);
    if (state?.kind === 'stopped') return;
    const last = batch.messages[batch.messages.length - 1]!;
    this.states.set(batch.partition, {
      kind: 'verifying',
      at: BigInt(last.offset),
      fingerprint: messageFingerprint(last).toString('hex'),
    });
    this.control?.seek(batch.topic, batch.partition, last.offset);
  }

  /** For /healthz: down while any partition is stopped, naming each and why. */
  readonly healthIndicator: HealthIndicator = () =>
    Promise.resolve(this.report.health(this.states));

  private async recheck(
    batch: ConsumedBatch,
    why: string | null,
    sought?: bigint,
  ): Promise<Admission> {
    const { topic, groupId } = this.options;
    const { partition } = batch;
    if (why !== null) {
      // kafkajs moves an out-of-range fetch position to the log start by itself ("Offset out of
      // range, resetting"): this is where it is caught.
      this.logger.warn({ topic, partition, why }, 'batch out of line with the stored position');
    }
    const [positions, marks] = await Promise.all([
      this.store.positions(groupId, topic, [partition]),
      this.watermarks(),
    ]);
    let position = positions.get(partition) ?? null;
    const at = position?.nextOffset == null ? null : position.nextOffset - 1n;
    const message = at === null ? undefined : batch.messages.find((m) => BigInt(m.offset) === at);
    if (
      message === undefined &&
      position !== null &&
      at === sought &&
      BigInt(batch.firstOffset) > at
    ) {
      // Sought to stored - 1 and the broker answered from later: no data message there to
      // compare (a control record). Seeking again would loop; decide unverified instead.
      this.logger.warn(
        { topic, partition, at: at.toString(), firstOffset: batch.firstOffset },
        'no message at the offset before the stored position: resumed without the fingerprint check',
      );
      position = { ...position, fingerprint: null };
    }
    const found: FoundMessage =
      message === undefined
        ? 'unread'
        : { fingerprint: messageFingerprint(message).toString('hex') };
    const seek = this.apply(partition, position, marks, found, 'batch');
    const state = this.states.get(partition);
    if (state?.kind !== 'running') return { kind: 'hold' };
    const from = state.expected;
    if (from === null) return { kind: 'rate', batch };
    const rest = batch.messages.filter((m) => BigInt(m.offset) >= from);
    if (rest.length === batch.messages.length) return { kind: 'rate', batch };
    if (rest.length === 0) {
      // Entirely below the position: fetch again from it (resolving nothing).
      if (seek !== null) this.control?.seek(topic, partition, seek.toString());
      return { kind: 'hold' };
    }
    return { kind: 'rate', batch: { ...batch, messages: rest, firstOffset: rest[0]!.offset } };
  }

  /**
   * Applies a verdict: the partition's new state, metrics, logs, pause or resume. Returns the
   * offset to seek to (null: none). `found` is the fingerprint at stored - 1 if already read.
   */
  private apply(
    partition: number,
    position: StoredPosition | null,
    marks: ReadonlyMap<number, { logStart: bigint; logEnd: bigint }>,
    found: FoundMessage,
    when: 'assignment' | 'batch' | 'decision',
  ): bigint | null {
    const { topic } = this.options;
    const mark = marks.get(partition);
    if (mark === undefined) {
      throw new TypeError(
        `no watermarks for ${topic}/${partition}: the topic changed under rating`,
      );
    }
    const verdict: ContinuityVerdict = decideContinuity({
      stored: position?.nextOffset ?? null,
      logStart: mark.logStart,
      logEnd: mark.logEnd,
      storedFingerprint: position?.fingerprint ?? null,
      found,
    });
    const fields = {
      topic,
      partition,
      storedOffset: position?.nextOffset?.toString() ?? null,
      logStart: mark.logStart.toString(),
      logEnd: mark.logEnd.toString(),
    };
    const previous = this.states.get(partition);
    switch (verdict.kind) {
      case 'ok': {
        this.states.set(partition, { kind: 'running', expected: verdict.from });
        this.markRunning(partition, previous);
        if (when !== 'batch') {
          this.logger.info(
            { ...fields, verified: verdict.verified },
            verdict.verified
              ? 'stored position verified: the message before it is the one rated'
              : 'stored position within the log',
          );
        }
        return verdict.from;
      }
      case 'verify':
        if (position === null) throw new TypeError('verify without a stored position');
        this.states.set(partition, {
          kind: 'verifying',
          at: verdict.at,
          fingerprint: position.fingerprint,
        });
        this.markRunning(partition, previous);
        if (when === 'batch') this.control?.seek(topic, partition, verdict.at.toString());
        return verdict.at;
      case 'stop': {
        const stopped: PartitionState = {
          kind: 'stopped',
          reason: verdict.reason,
          lost: verdict.lost,
          stored: position?.nextOffset ?? null,
          logStart: mark.logStart,
          logEnd: mark.logEnd,
          revision: position?.revision ?? null,
          since: previous?.kind === 'stopped' ? previous.since : new Date(),
        };
        this.states.set(partition, stopped);
        if (previous?.kind !== 'stopped') this.control?.pause(topic, [partition]);
        this.report.stopped(partition, verdict.reason);
        if (verdict.reason === 'retention_gap' && position?.nextOffset != null) {
          this.report.countLost(partition, position.nextOffset, mark.logStart);
        }
        const repeated = previous?.kind === 'stopped' && previous.reason === verdict.reason;
        if (!repeated) {
          this.logger.error(
            {
              ...fields,
              reason: verdict.reason,
              ...(verdict.reason === 'retention_gap'
                ? { messagesLost: verdict.lost.toString() }
                : {}),
              decide: `npm run rating -- offsets status --partition ${partition}`,
            },
            'partition stopped: the stored position and the topic disagree; nothing of it is rated until an operator decides',
          );
        }
        return null;
      }
    }
  }

  private markRunning(partition: number, previous: PartitionState | undefined): void {
    const { topic } = this.options;
    // Also lifts a pause left by an earlier generation of this member, if any.
    this.control?.resume(topic, [partition]);
    if (previous?.kind === 'stopped') {
      this.logger.warn(
        { topic, partition, reason: previous.reason },
        'stopped partition is read again (a decision, or the log changed since)',
      );
    }
    this.report.running(partition);
  }

  /**
   * Every pollMs: a running partition whose position fell outside the log (a topic recreated
   * under it, retention passing it during a long stall) is decided again at once, without
   * waiting for kafkajs to hit the end of the log and reset on its own; a stopped one looks for
   * an operator's decision.
   */
  private async poll(): Promise<void> {
    const { topic, groupId } = this.options;
    if (this.states.size === 0) return;
    const marks = await this.watermarks();
    const outside = [...this.states].flatMap(([partition, s]) => {
      const mark = marks.get(partition);
      const expected = expectedOf(s);
      if (expected === null || mark === undefined) return [];
      return expected > mark.logEnd || mark.logStart > expected ? [partition] : [];
    });
    const stopped = [...this.states].filter(([, s]) => s.kind === 'stopped').map(([p]) => p);
    if (outside.length + stopped.length === 0) return;
    const positions = await this.store.positions(groupId, topic, [...outside, ...stopped]);
    for (const partition of outside) {
      this.logger.warn(
        {
          topic,
          partition,
          logStart: marks.get(partition)?.logStart.toString(),
          logEnd: marks.get(partition)?.logEnd.toString(),
        },
        'the log moved away from the position being read',
      );
      const seek = this.apply(
        partition,
        positions.get(partition) ?? null,
        marks,
        'unread',
        'batch',
      );
      if (seek !== null && this.states.get(partition)?.kind === 'running') {
        this.control?.seek(topic, partition, seek.toString());
      }
    }
    for (const partition of stopped) {
      const state = this.states.get(partition);
      if (state?.kind !== 'stopped') continue;
      const position = positions.get(partition) ?? null;
      const decided = (position?.revision ?? null) !== state.revision;
      // Another topic under the name stays stopped until an operator moves the position; the
      // other reasons are looked at again (a retention gap grows while it waits).
      if (!decided && state.reason === 'topic_changed') continue;
      const seek = this.apply(partition, position, marks, 'unread', 'decision');
      if (seek !== null) this.control?.seek(topic, partition, seek.toString());
    }
  }

  private async watermarks(): Promise<Map<number, { logStart: bigint; logEnd: bigint }>> {
    const marks = await this.admin.watermarks(this.options.topic);
    return new Map(
      marks.map((m) => [m.partition, { logStart: BigInt(m.logStart), logEnd: BigInt(m.logEnd) }]),
    );
  }

  private ensureSeries(partition: number): void {
    if (this.states.get(partition)?.kind === 'stopped') return;
    this.report.running(partition);
  }

  /** A partition this member no longer holds: its new owner reports it. */
  private forget(partition: number): void {
    this.states.delete(partition);
    this.report.forget(partition);
  }
}
