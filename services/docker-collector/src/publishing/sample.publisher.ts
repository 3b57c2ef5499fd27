import { type SampleEvent } from '@metering/contracts';
import { type HealthIndicator } from '@metering/observability';

/**
 * Where samples go. In production the spool (libs/spool): publish never blocks, samples are
 * durable on disk and reach Kafka in order, key = resource id.
 */
export interface SamplePublisher {
  /**
   * Validates the sample against the contract (throws ContractViolationError, publishing
   * nothing) and hands it over; never blocks on Kafka.
   */
  publish(sample: SampleEvent): void;
  /** Waits until what was handed over is acknowledged by Kafka: true, or false at the timeout. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops; keeps sending for at most `timeoutMs`, what is left stays on disk for the next start. */
  close(timeoutMs: number): Promise<void>;
  /** Samples handed over and not yet acknowledged by Kafka. */
  depth(): number;
  /** For readiness (/readyz, /healthz): down when samples are at risk (the spool cannot be written). */
  healthIndicator(): HealthIndicator;
  /** For liveness (/livez): down only when forwarding stopped for good and a restart cures it. */
  livenessIndicator(): HealthIndicator;
}
