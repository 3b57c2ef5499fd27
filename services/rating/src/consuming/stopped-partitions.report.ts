// How stopped partitions show (ADR 0008): rating_partition_stopped{topic,partition,reason},
// messages lost to retention counted once per process, and the /healthz detail naming each
// stopped partition with the command an operator decides with.
import {
  type Counter,
  type HealthIndicatorResult,
  type MetricsRegistry,
} from '@metering/observability';
import { STOP_REASONS, type StopReason } from '../domain/offset-continuity';
import { type PartitionState, type StoppedState } from './offset-continuity.state';

export class StoppedPartitionsReport {
  private readonly stoppedGauge: ReturnType<MetricsRegistry['gauge']>;
  private readonly lostTotal: Counter;
  /** Per partition, the stored offset a retention gap was counted from and how far. */
  private readonly lostCounted = new Map<number, { stored: bigint; upTo: bigint }>();

  constructor(
    metrics: MetricsRegistry,
    private readonly topic: string,
  ) {
    this.stoppedGauge = metrics.gauge({
      name: 'partition_stopped',
      help: 'Partitions rating stopped because the stored position and the topic disagree (1), by reason; an operator decides with `rating offsets`',
      labelNames: ['topic', 'partition', 'reason'],
    });
    this.lostTotal = metrics.counter({
      name: 'messages_lost_to_retention_total',
      help: 'Messages deleted by retention before rating read them (log start past the stored offset)',
    });
  }

  /** The partition's series, every reason at 0 (running, or just assigned). */
  running(partition: number): void {
    for (const reason of STOP_REASONS) {
      this.stoppedGauge.set({ topic: this.topic, partition: String(partition), reason }, 0);
    }
  }

  /** The partition's series: 1 for `stopped`, 0 for the other reasons. */
  stopped(partition: number, stopped: StopReason): void {
    for (const reason of STOP_REASONS) {
      this.stoppedGauge.set(
        { topic: this.topic, partition: String(partition), reason },
        reason === stopped ? 1 : 0,
      );
    }
  }

  /** A partition this member no longer holds: its series go (its new owner reports it). */
  forget(partition: number): void {
    for (const reason of STOP_REASONS) {
      this.stoppedGauge.remove({ topic: this.topic, partition: String(partition), reason });
    }
  }

  /** Counts each message lost to retention once per process, however often it is seen. */
  countLost(partition: number, stored: bigint, logStart: bigint): void {
    const counted = this.lostCounted.get(partition);
    const from = counted !== undefined && counted.stored === stored ? counted.upTo : stored;
    if (logStart > from) this.lostTotal.inc(Number(logStart - from));
    this.lostCounted.set(partition, { stored, upTo: logStart > from ? logStart : from });
  }

  /** For /healthz: down while any partition is stopped, naming each and why. */
  health(states: Iterable<[number, PartitionState]>): HealthIndicatorResult {
    const stopped = [...states]
      .filter((entry): entry is [number, StoppedState] => entry[1].kind === 'stopped')
      .map(([partition, s]) => ({
        topic: this.topic,
        partition,
        reason: s.reason,
        storedOffset: s.stored?.toString() ?? null,
        logStart: s.logStart.toString(),
        logEnd: s.logEnd.toString(),
        ...(s.reason === 'retention_gap' ? { messagesLost: s.lost.toString() } : {}),
        since: s.since.toISOString(),
        decide: `npm run rating -- offsets status --partition ${partition}`,
      }));
    return stopped.length === 0 ? { status: 'up' } : { status: 'down', detail: { stopped } };
  }
}
