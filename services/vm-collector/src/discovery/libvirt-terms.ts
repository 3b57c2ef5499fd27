// What libvirt's answers mean, for the discovery adapter: states, "gone" errors, kinds of URI.
import { type DomainRunState } from '../sampling';

/** virDomainState → the state on a sample; `shutoff` is an inactive domain. */
export const STATES: Readonly<Record<number, DomainRunState | 'shutoff'>> = {
  0: 'nostate',
  1: 'running',
  2: 'blocked',
  3: 'paused',
  4: 'shutdown',
  5: 'shutoff',
  6: 'crashed',
  7: 'pmsuspended',
};

// The binding reports every error with code -1, so "the domain is gone" is told by message
// (virErrorNumber texts: VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_INVALID).
export const DOMAIN_GONE = /domain not found|no domain with matching|domain is not running/i;

/** One boot of a domain on one connection. */
export function metadataKey(uri: string, uuid: string, domainId: number): string {
  return `${uri}\n${uuid}\n${domainId}`;
}

/** qemu:///system on this host: its domains' QEMU processes are readable in /proc. */
export function isLocalQemuSystem(uri: string): boolean {
  return /^qemu(\+unix)?:\/\/\/system(\?.*)?$/.test(uri);
}

/** A URI naming a host (qemu+ssh://kvm-2/system) reaches another machine. */
export function isRemote(uri: string): boolean {
  return !/^[a-z0-9+]+:\/\/\//i.test(uri);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
