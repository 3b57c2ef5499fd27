import { backoffDelay } from '@metering/observability/resilience';

/** Retry settings of webhook deliveries (WEBHOOK_RETRY_* settings). */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Retries stop this long after the delivery's window started: then it is failed. */
  readonly windowMs: number;
}

/**
 * Delay before the next attempt after `attempts` failed ones: the house's backoff (base × 2^(n-1),
 * capped at max) with equal jitter (half fixed, half random), so endpoints recovering from an
 * outage are not hit by every delivery at the same instant. `random` is in [0, 1).
 */
export function retryDelayMs(attempts: number, policy: RetryPolicy, random: number): number {
  return backoffDelay(
    attempts,
    { initialMs: policy.baseMs, maxMs: policy.maxMs, jitter: 'equal' },
    () => random,
  );
}

/** When to try again, or null: the window is over, the delivery is failed. */
export function nextAttemptAt(
  attempts: number,
  windowStartMs: number,
  nowMs: number,
  policy: RetryPolicy,
  random: number,
): number | null {
  const at = nowMs + retryDelayMs(attempts, policy, random);
  return at > windowStartMs + policy.windowMs ? null : at;
}

export interface DisablePolicy {
  /** Failing continuously for at least this long... */
  readonly afterMs: number;
  /** ...and at least this many failed attempts in a row. */
  readonly afterFailures: number;
}

/** Whether an endpoint failing since `failingSinceMs` is disabled now. */
export function shouldDisable(
  consecutiveFailures: number,
  failingSinceMs: number,
  nowMs: number,
  policy: DisablePolicy,
): boolean {
  return consecutiveFailures >= policy.afterFailures && nowMs - failingSinceMs >= policy.afterMs;
}
