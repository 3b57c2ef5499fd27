import { type Lifecycle } from '@metering/contracts';

export { type SamplePublisher } from '../publishing/sample.publisher';

/** Wall-clock time, epoch milliseconds with a fraction (sub-millisecond ordering matters). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/** Kinds of the read-errors metric (`kind` label). */
export type ReadErrorKind =
  | 'vanished'
  | 'read_failed'
  | 'locate_failed'
  | 'inspect_failed'
  | 'list_failed'
  | 'parent_read_failed'
  | 'counter_went_back'
  | 'contract_violation'
  | 'publish_failed'
  | 'cycle_overrun';

/** What the collector reports; the Prometheus adapter is CollectorMetricsAdapter. */
export interface CollectorMetrics {
  cycleCompleted(durationSeconds: number, containers: number): void;
  samplePublished(lifecycle: Lifecycle, residual: boolean): void;
  readError(kind: ReadErrorKind): void;
  /** A container that lived less than one interval ended: did any sample carry its CPU? */
  shortLived(outcome: 'caught' | 'missed'): void;
  /** CPU a parent cgroup's exited children used beyond their samples (per-tenant or not). */
  residualCpu(parentPath: string, attributed: boolean, seconds: number): void;
}

/** pino-compatible: structured fields first, then the message. */
export interface CollectorLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
