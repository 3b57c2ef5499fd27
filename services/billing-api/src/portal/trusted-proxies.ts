import { isIP } from 'node:net';

/** Express's own names for address ranges (proxy-addr), accepted as they are. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_HOPS = 10;
const MAX_ENTRIES = 64;

/**
 * Which proxies in front of billing-api are believed when they say who the client is
 * (`X-Forwarded-For`, `X-Forwarded-Proto`): what Express's `trust proxy` gets. The sign-in limiter
 * counts failures per client address and the session cookie is `Secure` when the request came
 * over TLS, so behind an ingress without this every client is the ingress (one lockout for
 * everyone) and every request is plain HTTP.
 *
 * - unset or empty: none; the client is the socket's peer (the safe default);
 * - `1`…`10`: that many proxies in front, whatever their addresses (the address that many hops
 *   from the right of `X-Forwarded-For` is the client);
 * - a comma-separated list of IP addresses, CIDR ranges and `loopback`, `linklocal`,
 *   `uniquelocal`: proxies with those addresses are skipped from the right.
 *
 * `true` (trust every hop) is refused: the leftmost `X-Forwarded-For` entry is whatever the client
 * wrote, so each request could claim a new address and guess keys without limit.
 * Returns the value for `app.set('trust proxy', …)`, or throws an Error naming the entry.
 */
export function parseTrustedProxies(raw: string | undefined): false | number | string[] {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_HOPS) throw new Error(`must be at most ${MAX_HOPS} hops, got ${value}`);
    return hops;
  }
  if (value === 'true') {
    throw new Error(
      "'true' would believe any X-Forwarded-For a client writes: give the number of proxies or their addresses",
    );
  }
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length > MAX_ENTRIES) throw new Error(`at most ${MAX_ENTRIES} entries`);
  for (const entry of entries) {
    if (!isProxyEntry(entry)) {
      throw new Error(
        `${JSON.stringify(entry.slice(0, 64))} is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal`,
      );
    }
  }
  return entries;
}

function isProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
