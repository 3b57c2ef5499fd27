import { type MeteredSample } from './metered-sample';

export interface SampleRuleViolation {
  readonly code: 'SAMPLE_IN_FUTURE' | 'SAMPLE_TOO_OLD';
  readonly path: string;
  readonly message: string;
}

/**
 * Rules a schema-valid sample must also meet before it may move money. A sample far in the
 * future would open an interval nobody can close; one far in the past (a collector clock reset to
 * 1970, a replay of years-old data) would bill months closed long ago as adjustments. Both go to
 * the dead-letter topic instead (replayable once the limit is raised).
 */
export function checkSampleRules(
  sample: MeteredSample,
  nowMs: number,
  maxFutureSkewMs: number,
  maxAgeMs: number = Number.POSITIVE_INFINITY,
): SampleRuleViolation | null {
  if (sample.observedAtMs < nowMs - maxAgeMs) {
    return {
      code: 'SAMPLE_TOO_OLD',
      path: 'observedAt',
      message: `observedAt: ${new Date(sample.observedAtMs).toISOString()} is more than ${maxAgeMs} ms before the rating clock`,
    };
  }
  if (sample.observedAtMs > nowMs + maxFutureSkewMs) {
    return {
      code: 'SAMPLE_IN_FUTURE',
      path: 'observedAt',
      message: `observedAt: ${new Date(sample.observedAtMs).toISOString()} is more than ${maxFutureSkewMs} ms ahead of the rating clock`,
    };
  }
  return null;
}
