/**
 * Failed portal sign-ins per client address, in fixed windows: past `limit` failures in a window
 * every further attempt from the address is refused until the window ends (also with the right
 * key, so guessing cannot continue at the refused rate). In memory, per process: a small bound
 * on guessing that needs no table; replicas each keep their own. Bounded: at most `maxClients`
 * addresses are tracked; when full, ended windows are dropped first, then the oldest.
 */
export class SignInLimiter {
  private readonly windows = new Map<string, { startMs: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxClients = 10_000,
  ) {}

  /** Milliseconds until the address may try again, or 0 when it may try now. */
  retryAfterMs(client: string, nowMs: number): number {
    const w = this.windows.get(client);
    if (w === undefined || nowMs - w.startMs >= this.windowMs) return 0;
    return w.failures >= this.limit ? w.startMs + this.windowMs - nowMs : 0;
  }

  recordFailure(client: string, nowMs: number): void {
    const w = this.windows.get(client);
    if (w !== undefined && nowMs - w.startMs < this.windowMs) {
      w.failures += 1;
      return;
    }
    this.windows.delete(client);
    if (this.windows.size >= this.maxClients) this.evict(nowMs);
    this.windows.set(client, { startMs: nowMs, failures: 1 });
  }

  get size(): number {
    return this.windows.size;
  }

  private evict(nowMs: number): void {
    for (const [client, w] of this.windows) {
      if (nowMs - w.startMs >= this.windowMs) this.windows.delete(client);
    }
    // Insertion order is start order: the oldest windows go first.
    for (const client of this.windows.keys()) {
      if (this.windows.size < this.maxClients) break;
      this.windows.delete(client);
    }
  }
}
