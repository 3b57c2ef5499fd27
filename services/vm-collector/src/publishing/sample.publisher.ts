import { type SampleEvent } from '@metering/contracts';
import { type HealthIndicatorResult } from '@metering/observability';

/**
 * Where samples go. publish() must never block the sampling cycle on Kafka: the
 * implementation queues (durably) and forwards in the background, in order, key = resource id.
 */
export interface SamplePublisher {
  /** Queues one sample; throws only for a sample its schema rejects (a bug here). */
  publish(sample: SampleEvent): void;
  /** Waits up to timeoutMs for everything queued to be acknowledged by Kafka; false if not. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops forwarding; what was not sent stays queued (on disk) for the next start. */
  close(timeoutMs: number): Promise<void>;
  /** Samples queued and not yet acknowledged by Kafka. */
  depth(): number;
  /** For readiness: down when samples are at risk (the spool cannot be written). */
  health(): Promise<HealthIndicatorResult>;
  /** For liveness: down only when forwarding stopped for good and a restart cures it. */
  liveness(): Promise<HealthIndicatorResult>;
}

export const SAMPLE_PUBLISHER = Symbol('SAMPLE_PUBLISHER');
