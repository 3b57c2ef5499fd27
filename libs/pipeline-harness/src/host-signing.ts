// Samples signed as their host's collector would sign them (ADR 0010): the host key derived from
// the pipeline's master key, and the MAC header on each message whose value names a host.
import { HOST_AUTH_HEADER, type HostKey, deriveHostKey, hostAuthHeader } from '@metering/contracts';

export interface SignedMessage {
  key: Buffer;
  value: Buffer;
  headers?: Record<string, string>;
}

/** The key a host's collector signs with, derived from `master` (key id k1). */
export function pipelineHostKey(master: Buffer, host: string): HostKey {
  return { keyId: 'k1', key: deriveHostKey(master, host) };
}

/**
 * Messages as a collector of the host their sample names would send them; a value that names no
 * host (not a sample at all) goes without a MAC, as any such record would.
 */
export function signMessages(
  master: Buffer,
  messages: readonly { key: string | Buffer; value: Buffer }[],
): SignedMessage[] {
  return messages.map(({ key, value }) => {
    const k = Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
    const host = hostOf(value);
    if (host === null) return { key: k, value };
    return {
      key: k,
      value,
      headers: { [HOST_AUTH_HEADER]: hostAuthHeader(pipelineHostKey(master, host), k, value) },
    };
  });
}

function hostOf(value: Buffer): string | null {
  try {
    const host = (JSON.parse(value.toString('utf8')) as { host?: unknown } | null)?.host;
    return typeof host === 'string' ? host : null;
  } catch {
    return null;
  }
}
