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
  LibvirtDiscovery,
  type LibvirtDiscoveryOptions,
  isLocalQemuSystem,
  isRemote,
} from './libvirt-discovery.adapter';
export {
  type ConnectionStatus,
  LibvirtBackoffError,
  LibvirtConnection,
  LibvirtTimeoutError,
  loadLibvirt,
} from './libvirt.connection';
export { QemuProcessReader, type QemuProcessReaderOptions } from './qemu-process.reader';
