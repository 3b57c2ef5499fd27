import { createHash } from 'node:crypto';

export interface InstanceIdentity {
  readonly uuid: string;
  /** libvirt's runtime id: new on every start of the domain. */
  readonly domainId: number;
  /** The QEMU process's boot id + start ticks; null when the process is not readable here. */
  readonly bootKey: string | null;
}

/**
 * The instance id of one boot of a domain: `<uuid>@<16 hex>`, the hex a sha256 over the
 * uuid, the libvirt domain id and, when known, the QEMU process's boot key.
 *
 * The counters of a VM (cpuTime) restart with its QEMU process, so the instance must change
 * exactly then, and must NOT change when the collector restarts: rating counts the whole
 * counter of an instance it has not seen, so a new id for an old boot would double count.
 * Hence only facts that are fixed for the life of the process and readable again after a
 * collector restart. The domain id alone repeats after a host reboot (libvirt starts again
 * at 1); the boot key (kernel boot id + start ticks) makes the id unique across reboots.
 */
export function instanceIdOf(identity: InstanceIdentity): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([identity.uuid, identity.domainId, identity.bootKey]), 'utf8')
    .digest('hex');
  return `${identity.uuid}@${digest.slice(0, 16)}`;
}
