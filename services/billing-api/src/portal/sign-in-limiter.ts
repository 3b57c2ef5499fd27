import { isIPv4, isIPv6 } from 'node:net';

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

/**
 * The key a client address is limited under: an IPv4 address as it is (also when written as an
 * IPv4-mapped IPv6 address, `::ffff:192.0.2.1`), an IPv6 address by its /64 (one host usually
 * owns a whole /64, so its addresses are one client), anything else as it is.
 */
export function clientKeyOf(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  // A trailing dotted IPv4 part (::1.2.3.4) is two groups.
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
