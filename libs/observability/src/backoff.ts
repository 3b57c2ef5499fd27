/** How a retry loop waits: doubling from `initialMs`, capped at `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /**
   * 'equal': between half and all of the delay, so that many clients do not hit a dependency
   * that just came back in lockstep; 'none': exactly the delay (a single writer, tests).
   */
  readonly jitter: 'equal' | 'none';
}

/**
 * Delay before retry number `attempt` (1 for the first retry): `initialMs × 2^(attempt − 1)`,
 * capped at `maxMs`, jittered as the policy says. The exponent stops at 30 (2^30 ms is twelve
 * days, past any cap), so a long outage never overflows. `random` is in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  if (policy.jitter === 'none') return ceiling;
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
