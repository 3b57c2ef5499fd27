import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go (server-side request forgery): http(s) only, https only when required
 * (production), no credentials in the URL, ASCII only (an internationalised host is written in
 * its xn-- form, so what an operator reads is what is resolved), and never an address in a
 * private, loopback, link-local, shared, documentation, multicast or reserved range unless an
 * allow-list names it. A URL with a host name passes here; its resolved addresses are checked by
 * blockedAddressReason before each request, and the request is pinned to the address checked.
 * Pure (BlockList and isIP compute, they do no I/O); outside domain/ only because the lint rule
 * keeps node:net out of domain folders.
 */
export interface WebhookUrlPolicy {
  readonly requireHttps: boolean;
  readonly allowedCidrs: readonly {
    readonly address: string;
    readonly prefix: number;
    readonly family: 'ipv4' | 'ipv6';
  }[];
}

export const MAX_WEBHOOK_URL_BYTES = 2048;

const BLOCKED: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'this network'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const blockedLists = BLOCKED.map(([address, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, family, reason, cidr: `${address}/${prefix}` };
});

/** Why the address may not be reached, or null when it may. */
export function blockedAddressReason(
  address: string,
  allowed: WebhookUrlPolicy['allowedCidrs'],
): string | null {
  const version = isIP(address);
  if (version === 0) return `${address} is not an IP address`;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const allow = new BlockList();
  for (const c of allowed) allow.addSubnet(c.address, c.prefix, c.family);
  if (allowed.length > 0 && allow.check(address, family)) return null;
  for (const b of blockedLists) {
    if (b.family === family && b.list.check(address, family)) {
      return `${address} is in a ${b.reason} range (${b.cidr}); allow it with WEBHOOK_ALLOWED_CIDRS`;
    }
  }
  return null;
}

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007F-\u009F]/;

/** Checks a webhook URL as registered; returns it normalised (WHATWG URL serialisation). */
export function checkWebhookUrl(input: unknown, policy: WebhookUrlPolicy): UrlCheck {
  const no = (message: string): UrlCheck => ({ ok: false, message });
  if (typeof input !== 'string') return no(`must be a string, got ${describe(input)}`);
  if (input.length === 0) return no('must not be empty');
  if (Buffer.byteLength(input, 'utf8') > MAX_WEBHOOK_URL_BYTES) {
    return no(`must be at most ${MAX_WEBHOOK_URL_BYTES} bytes`);
  }
  if (CONTROL_OR_SPACE.test(input)) return no('must not contain spaces or control characters');
  // eslint-disable-next-line no-control-regex -- ASCII range
  if (!/^[\x00-\x7f]*$/.test(input)) {
    return no(
      'must be ASCII: write an internationalised host in its xn-- form and percent-encode the path',
    );
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return no('must be an absolute URL, e.g. https://erp.example.com/hooks/metering');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return no(`scheme ${url.protocol.replace(/:$/, '')} is not allowed; use https`);
  }
  if (policy.requireHttps && url.protocol !== 'https:') return no('must use https');
  if (url.username !== '' || url.password !== '') return no('must not contain credentials');
  if (url.hash !== '') return no('must not contain a fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return no('must have a host');
  if (isIP(host) !== 0) {
    const reason = blockedAddressReason(host, policy.allowedCidrs);
    if (reason !== null) return no(reason);
  } else if (/(^|\.)localhost$/i.test(host) && policy.allowedCidrs.length === 0) {
    return no('localhost is loopback; allow it with WEBHOOK_ALLOWED_CIDRS');
  } else if (/^\d+$/.test(host.split('.').pop() ?? '')) {
    // WHATWG parsing turns 0x7f.1 or 2130706433 into an address; anything left numeric is odd.
    return no('host is neither a name nor an IP address');
  }
  return { ok: true, url: url.href };
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
