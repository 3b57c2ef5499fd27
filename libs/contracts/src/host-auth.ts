import { type KeyObject, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

// Per-host identity of samples (docs/adr/0010-host-identity.md).
//
// The broker authenticates the producer (a SCRAM principal per host) but cannot tell a
// consumer who produced a record, and a host principal may write the samples topic. So each
// sample carries a MAC in a record header, made with a key only that host holds; rating
// derives the same key from the `host` named in the sample and refuses a sample whose MAC does
// not match (HOST_UNVERIFIED). A host can therefore publish samples only for itself.
//
// Keys: host key = HMAC-SHA256(master key, "metering host key v1" NUL host). Rating holds the
// master keys (by key id, several during a rotation); each host holds only its own derived key
// and the key id. HMAC, not a signature: a verification costs ~3 µs where Ed25519 costs
// ~130 µs, and rating runs 40,000 samples/s per core (ADR 0007); the master key lives only
// where the ledger's database credentials already do.

/** The record header carrying a sample's MAC. */
export const HOST_AUTH_HEADER = 'metering-host-auth';
const VERSION = 'v1';
const KEY_DERIVATION_LABEL = 'metering host key v1\0';
const MAC_LABEL = Buffer.from('metering sample v1\0');
/** Key ids: short, printable, no separators. */
export const HOST_KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
/** Secrets of at least 256 bits. */
export const MIN_HOST_SECRET_BYTES = 32;
const MAX_SECRET_BYTES = 1024;
/** A header longer than any this scheme writes is refused before any work. */
export const MAX_HOST_AUTH_HEADER_BYTES = 128;

/** A key the way a host holds it: the id its MAC names and the derived key. */
export interface HostKey {
  readonly keyId: string;
  readonly key: Buffer;
}

/** The host key of `host` under a master key. */
export function deriveHostKey(master: Buffer, host: string): Buffer {
  return createHmac('sha256', master).update(KEY_DERIVATION_LABEL).update(host, 'utf8').digest();
}

/** The record key's length, big-endian (reused: the MAC is computed synchronously). */
const keyLength = Buffer.alloc(4);

function mac(key: Buffer | KeyObject, recordKey: Buffer | null, value: Buffer): Buffer {
  keyLength.writeUInt32BE(recordKey === null ? 0 : recordKey.length);
  const h = createHmac('sha256', key).update(MAC_LABEL).update(keyLength);
  if (recordKey !== null) h.update(recordKey);
  return h.update(value).digest();
}

/** The header value a host sends with a record (its Kafka key and value, as sent). */
export function hostAuthHeader(hostKey: HostKey, recordKey: Buffer, value: Buffer): string {
  return `${VERSION} ${hostKey.keyId} ${mac(hostKey.key, recordKey, value).toString('base64url')}`;
}

export type HostAuthFailure = 'missing' | 'malformed' | 'unknown-key' | 'mismatch';

export type HostAuthResult = { ok: true } | { ok: false; failure: HostAuthFailure; detail: string };

/** Where rating finds the host key for (key id, host); null: the key id is not known. */
export type HostKeyLookup = (keyId: string, host: string) => Buffer | KeyObject | null;

/**
 * Whether `header` (the record's header value(s), as the consumer got them) proves that the host
 * named in the sample produced this key and value. Never throws; the detail names no secret.
 */
export function verifyHostAuth(
  header: unknown,
  recordKey: Buffer | null,
  value: Buffer,
  host: string,
  lookup: HostKeyLookup,
): HostAuthResult {
  if (header === undefined || header === null) {
    return fail('missing', `no ${HOST_AUTH_HEADER} header`);
  }
  if (Array.isArray(header)) {
    return fail('malformed', `${header.length} ${HOST_AUTH_HEADER} headers; one is expected`);
  }
  const bytes = Buffer.isBuffer(header) ? header : typeof header === 'string' ? header : null;
  if (bytes === null) return fail('malformed', `${HOST_AUTH_HEADER} is not text`);
  if (bytes.length > MAX_HOST_AUTH_HEADER_BYTES) {
    return fail(
      'malformed',
      `${HOST_AUTH_HEADER} is longer than ${MAX_HOST_AUTH_HEADER_BYTES} bytes`,
    );
  }
  const text = bytes.toString();
  const parts = text.split(' ');
  if (parts.length !== 3 || parts[0] !== VERSION) {
    return fail('malformed', `${HOST_AUTH_HEADER} must read "${VERSION} <key id> <mac>"`);
  }
  const [, keyId, macText] = parts as [string, string, string];
  if (!HOST_KEY_ID.test(keyId) || !/^[A-Za-z0-9_-]{43}$/.test(macText)) {
    return fail('malformed', `${HOST_AUTH_HEADER} must read "${VERSION} <key id> <mac>"`);
  }
  const key = lookup(keyId, host);
  if (key === null) return fail('unknown-key', `key id "${keyId}" is not one rating holds`);
  const expected = mac(key, recordKey, value);
  const got = Buffer.from(macText, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    return fail(
      'mismatch',
      `the MAC does not match host ${JSON.stringify(host)} under key id "${keyId}": ` +
        'the record was not produced by that host, or was changed after it',
    );
  }
  return { ok: true };
}

function fail(failure: HostAuthFailure, detail: string): HostAuthResult {
  return { ok: false, failure, detail };
}

/**
 * A key file's text: one `<key id> <hex secret>` per line; blank lines and `#` comments are
 * ignored. Throws an Error naming the line for anything else (the caller names the file).
 * Rating's master key file may hold several keys (a rotation); a host's key file holds one.
 */
export function parseHostKeyFile(text: string): HostKey[] {
  const keys: HostKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/[ \t]+/);
    const [keyId, secret] = parts;
    if (parts.length !== 2 || keyId === undefined || secret === undefined) {
      throw new Error(`line ${i + 1}: must read "<key id> <hex secret>"`);
    }
    if (!HOST_KEY_ID.test(keyId)) {
      throw new Error(`line ${i + 1}: the key id must be 1 to 32 of A-Z a-z 0-9 . _ -`);
    }
    if (!/^[0-9a-fA-F]+$/.test(secret) || secret.length % 2 !== 0) {
      throw new Error(`line ${i + 1}: the secret must be hex digits`);
    }
    const key = Buffer.from(secret, 'hex');
    if (key.length < MIN_HOST_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
      throw new Error(
        `line ${i + 1}: the secret must be ${MIN_HOST_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes ` +
          `(${MIN_HOST_SECRET_BYTES * 2}+ hex digits), got ${key.length}`,
      );
    }
    if (keys.some((k) => k.keyId === keyId)) {
      throw new Error(`line ${i + 1}: key id "${keyId}" appears twice`);
    }
    keys.push({ keyId, key });
  }
  if (keys.length === 0) throw new Error('holds no key');
  return keys;
}

/** The line a host's key file holds, for `rating host-key` and the stack. */
export function hostKeyLine(hostKey: HostKey): string {
  return `${hostKey.keyId} ${hostKey.key.toString('hex')}`;
}

/**
 * Rating's lookup over its master keys: derives a host key once and keeps it (bounded: a
 * flood of samples naming new hosts cannot grow it without end; they are refused anyway).
 */
export function masterKeyLookup(masters: readonly HostKey[], maxCached = 65_536): HostKeyLookup {
  const byId = new Map(
    masters.map((m) => [m.keyId, { master: m.key, hosts: new Map<string, KeyObject>() }]),
  );
  let cached = 0;
  return (keyId, host) => {
    const entry = byId.get(keyId);
    if (entry === undefined) return null;
    let key = entry.hosts.get(host);
    if (key === undefined) {
      key = createSecretKey(deriveHostKey(entry.master, host));
      if (cached >= maxCached) {
        for (const e of byId.values()) e.hosts.clear();
        cached = 0;
      }
      entry.hosts.set(host, key);
      cached++;
    }
    return key;
  };
}
