export {
  type DomainMetadata,
  DomainXmlError,
  METERING_NS,
  NOVA_NS_PREFIX,
  type TenantSource,
  parseDomainMetadata,
} from './domain-metadata.parser';
export {
  type DomainReadError,
  type DomainSource,
  type LibvirtDiscoveryOptions,
} from './domain-source';
export { LibvirtDiscovery } from './libvirt-discovery.adapter';
export { isLocalQemuSystem, isRemote } from './libvirt-terms';
export { RunDirWatch } from './run-dir.watch';
export {
  type ConnectionStatus,
  LibvirtBackoffError,
  LibvirtConnection,
  LibvirtTimeoutError,
  loadLibvirt,
} from './libvirt.connection';
export { QemuProcessReader, type QemuProcessReaderOptions } from './qemu-process.reader';
