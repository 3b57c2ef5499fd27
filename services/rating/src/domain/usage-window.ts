import { type InstanceState, instanceKey } from './metered-sample';
import { type PricedUsage } from './price-batch';

/**
 * How priced usage is gathered into `billing.usage.v1` events: an instance's consecutive rated
 * intervals whose starts fall in the same aligned window (epoch multiples of `windowMs`) become
 * one event, so a resource sampled every 10 s yields one event per 5 minutes instead of 30.
 * 0 keeps one event per rated interval.
 */
export interface UsageWindowRules {
  readonly windowMs: number;
}

export interface WindowedUsage {
  /** Complete windows: the events to publish, in rating order per instance. */
  readonly closed: PricedUsage[];
  /** The open window of every instance the batch touched (null: none), stored with its state. */
  readonly open: Map<string, PricedUsage | null>;
}

/**
 * Gathers a batch's priced usage (in rating order) into windows, continuing each instance's open
 * window as stored. A window closes when its usage reaches the window's end, when the next usage
 * cannot join it (another window, month, plan, currency, basis or tenant), at a gap (a gap is an
 * event of its own) and when the instance's last sample is its final one. Pure, and independent
 * of how the stream is cut into batches: carrying `open` from batch to batch closes the same
 * windows with the same contents as one batch would (usage-window.spec.ts).
 *
 * Quantities and amounts are sums of the joined usages, so the events still add up to the ledger
 * exactly; an open window is usage in the ledger not yet published, flushed after an idle time by
 * the adapter (an instance that stopped without a final sample).
 */
export function windowUsages(
  usages: readonly PricedUsage[],
  stored: ReadonlyMap<string, PricedUsage>,
  states: ReadonlyMap<string, Pick<InstanceState, 'final'>>,
  rules: UsageWindowRules,
): WindowedUsage {
  const { windowMs } = rules;
  const closed: PricedUsage[] = [];
  const open = new Map<string, PricedUsage | null>();
  // Windows this call built: joined into in place (the inputs are never changed).
  const own = new Set<PricedUsage>();
  const current = (key: string): PricedUsage | null =>
    open.has(key) ? (open.get(key) ?? null) : (stored.get(key) ?? null);

  for (const u of usages) {
    const key = instanceKey(u);
    const previous = current(key);
    let window: PricedUsage;
    if (previous !== null && joins(previous, u, windowMs)) {
      window = own.has(previous) ? previous : { ...previous };
      own.add(window);
      joinInto(window, u);
    } else {
      if (previous !== null) closed.push(previous);
      window = u;
    }
    if (
      windowMs === 0 ||
      window.gap ||
      window.toMs >= windowStart(window.fromMs, windowMs) + windowMs
    ) {
      closed.push(window);
      open.set(key, null);
    } else {
      open.set(key, window);
    }
  }
  for (const [key, state] of states) {
    if (!state.final) continue;
    const window = current(key);
    if (window !== null) closed.push(window);
    open.set(key, null);
  }
  return { closed, open };
}

/**
 * Where the aligned window of `windowMs` holding `ms` starts (a window starts at a multiple of its
 * length; before 1970 too). Exact for whole milliseconds below 2^53 in magnitude, which every time
 * here is: the quotient's rounding never reaches the next integer, and the product is not above
 * |ms|. Floating-point `%` (what this was) costs a call to fmod per use, twice a sample in the
 * fold.
 */
export function windowStart(ms: number, windowMs: number): number {
  return Math.floor(ms / windowMs) * windowMs;
}

function joins(w: PricedUsage, u: PricedUsage, windowMs: number): boolean {
  return (
    windowMs > 0 &&
    !w.gap &&
    !u.gap &&
    u.fromMs >= w.fromMs &&
    windowStart(u.fromMs, windowMs) === windowStart(w.fromMs, windowMs) &&
    u.tenantId === w.tenantId &&
    u.period === w.period &&
    u.currency === w.currency &&
    u.basis === w.basis &&
    (u.plan === null
      ? w.plan === null
      : w.plan !== null && u.plan.id === w.plan.id && u.plan.version === w.plan.version)
  );
}

type MutableUsage = { -readonly [K in keyof PricedUsage]: PricedUsage[K] };

function joinInto(w: MutableUsage, u: PricedUsage): void {
  w.toMs = Math.max(w.toMs, u.toMs);
  w.cpuUsage += u.cpuUsage;
  w.memoryUsage += u.memoryUsage;
  w.cpuPriced += u.cpuPriced;
  w.memoryPriced += u.memoryPriced;
  w.cpuAmount += u.cpuAmount;
  w.memoryAmount += u.memoryAmount;
}
