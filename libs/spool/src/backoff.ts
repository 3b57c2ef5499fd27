/**
 * Delay before retry number `attempt` (1 for the first retry): doubling from initialMs,
 * capped at maxMs, with "equal jitter" (between half and all of it) so that many collectors
 * do not hit a broker that just came back in lockstep.
 */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
