import { type MeteredSample } from './metered-sample';

export interface SampleRuleViolation {
  readonly code: 'SAMPLE_IN_FUTURE';
  readonly path: string;
  readonly message: string;
}

/**
 * Rules a schema-valid sample must also meet before it may move money. A sample far in the
 * future would open an interval nobody can close; it goes to the dead-letter topic instead.
 */
export function checkSampleRules(
  sample: MeteredSample,
  nowMs: number,
  maxFutureSkewMs: number,
): SampleRuleViolation | null {
  if (sample.observedAtMs > nowMs + maxFutureSkewMs) {
    return {
      code: 'SAMPLE_IN_FUTURE',
      path: 'observedAt',
      message: `observedAt: ${new Date(sample.observedAtMs).toISOString()} is more than ${maxFutureSkewMs} ms ahead of the rating clock`,
    };
  }
  return null;
}
