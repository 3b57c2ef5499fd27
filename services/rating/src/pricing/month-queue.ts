import { type MonthKey } from '../ledger/pricing.store';

/** Why a pass ran: a committed batch's months, the sweep, or a drain (specs, stop). */
export type PassTrigger = 'batch' | 'sweep' | 'drain';

/** A month in the queue: what queued it first, and the sweeps waiting for its pass. */
export interface QueuedMonth {
  readonly id: string;
  readonly month: MonthKey;
  readonly trigger: PassTrigger;
  readonly waiters: (() => void)[];
}

interface DeferredMonth extends QueuedMonth {
  /** When its pass is due: when it was first queued behind a backlog, plus the delay. */
  readonly dueAtMs: number;
}

/**
 * The pricing stage's months waiting for a pass (pure bookkeeping: no timers, no I/O). A month is
 * `ready` (priced by the queue's next passes, in the order queued) or, when a batch that left its
 * partition behind the broker queued it, `deferred` until `delayMs` after that: while rating
 * catches up a backlog, every batch of every partition touches nearly every tenant's month, and a
 * pass per month each time the queue comes round cost the pass's own statements (lease, page,
 * settle, windows, outbox) for a few pieces each (docs/adr/0014-rating-scale-out.md, "Fewer passes
 * a month"). A batch that finds its partition caught up makes the month ready at once, so a
 * rating that keeps up prices as before; a deferred month is never put off again by later
 * batches: charges lag quantities by at most the delay, plus the queue. At most one entry per
 * month: a month queued again while queued keeps its place (and its waiters).
 */
export class MonthQueue {
  private readonly ready = new Map<string, QueuedMonth>();
  /** In the order deferred, which is the order due (a fixed delay from the time queued). */
  private readonly deferred = new Map<string, DeferredMonth>();

  constructor(private readonly delayMs: number) {
    if (!Number.isFinite(delayMs) || delayMs < 0)
      throw new RangeError(`the pricing delay must be 0 or more ms, got ${delayMs}`);
  }

  /**
   * Queues a committed batch's month: ready, or deferred when the batch left its partition
   * behind (and there is a delay). A deferred month queued by a batch that did not is made ready.
   */
  add(id: string, month: MonthKey, behind: boolean, nowMs: number): void {
    if (this.ready.has(id)) return;
    const deferred = this.deferred.get(id);
    if (deferred !== undefined) {
      if (behind) return;
      this.deferred.delete(id);
      this.ready.set(id, { id, month, trigger: deferred.trigger, waiters: deferred.waiters });
      return;
    }
    if (behind && this.delayMs > 0) {
      const dueAtMs = nowMs + this.delayMs;
      this.deferred.set(id, { id, month, trigger: 'batch', waiters: [], dueAtMs });
    } else {
      this.ready.set(id, { id, month, trigger: 'batch', waiters: [] });
    }
  }

  /** The month's entry, ready or deferred. */
  get(id: string): QueuedMonth | undefined {
    return this.ready.get(id) ?? this.deferred.get(id);
  }

  /** Whether the month waits for the delay (its pass is due at a time of its own). */
  isDeferred(id: string): boolean {
    return this.deferred.has(id);
  }

  /** Queues a month ready (a sweep's: overdue already); the caller checked it is not queued. */
  addReady(entry: QueuedMonth): void {
    this.ready.set(entry.id, entry);
  }

  /**
   * Makes the deferred months due by `nowMs` ready; returns when the next deferred one is due
   * (null: none deferred).
   */
  promote(nowMs: number): number | null {
    for (const [id, entry] of this.deferred) {
      if (entry.dueAtMs > nowMs) return entry.dueAtMs;
      this.deferred.delete(id);
      this.ready.set(id, {
        id,
        month: entry.month,
        trigger: entry.trigger,
        waiters: entry.waiters,
      });
    }
    return null;
  }

  /** The next ready month, taken out of the queue (undefined: none ready). */
  take(): QueuedMonth | undefined {
    const next = this.ready.values().next();
    if (next.done === true) return undefined;
    this.ready.delete(next.value.id);
    return next.value;
  }

  get readyCount(): number {
    return this.ready.size;
  }

  get deferredCount(): number {
    return this.deferred.size;
  }

  /** Empties the queue; returns what it held (their waiters are the caller's to resolve). */
  clear(): QueuedMonth[] {
    const all = [...this.ready.values(), ...this.deferred.values()];
    this.ready.clear();
    this.deferred.clear();
    return all;
  }
}
