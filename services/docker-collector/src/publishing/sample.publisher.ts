import { type SampleEvent } from '@metering/contracts';

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
  /** Waits until what was handed over is sent, at most `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  /** Samples handed over and not yet acknowledged by Kafka. */
  depth(): number;
}
