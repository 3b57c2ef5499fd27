/**
 * Runs at most `limit` tasks at a time, the rest in arrival order: keeps a dependency (the Docker
 * engine, libvirt, PostgreSQL's pool) from being asked about hundreds of things at once.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be >= 1, got ${limit}`);
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so `active` stays as it is.
      if (next === undefined) this.active -= 1;
      else next();
    }
  }

  /**
   * `work` on every item, at most `limit` at a time (shared with other `run` calls), results in
   * the items' order. Rejects with the first failure; the other items' work still runs to its end.
   */
  map<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
    return Promise.all(items.map((item, index) => this.run(() => work(item, index))));
  }
}

/** `work` on every item, at most `limit` at a time, results in the items' order. */
export function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  return new ConcurrencyLimiter(limit).map(items, work);
}
