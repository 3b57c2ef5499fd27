/**
 * What the discovery adapter read about one active domain at one instant. Plain data: the
 * sampling cycle works on these and knows nothing of libvirt.
 */
export interface DomainReading {
  /** The libvirt connection URI it was read through. */
  readonly uri: string;
  /** The hypervisor host: `host` of its samples. */
  readonly host: string;
  readonly uuid: string;
  readonly name: string;
  /** libvirt's runtime id of the running domain; a new one on every start. */
  readonly domainId: number;
  readonly state: DomainRunState;
  /** Cumulative CPU time of the domain since its QEMU process started, in ns. */
  readonly cpuTimeNs: bigint;
  readonly vcpus: number;
  /** The domain's current (balloon) memory, bytes. */
  readonly memoryBytes: number;
  /** The domain's maximum memory, bytes. */
  readonly maxMemoryBytes: number;
  /** From the domain metadata (ours or OpenStack Nova's); null when it has none. */
  readonly tenantId: string | null;
  /** The flavour from OpenStack Nova's metadata (`m1.small`); absent or null when none. */
  readonly flavour?: string | null;
  /**
   * Whether this connection's domains have a QEMU process readable on this host (a local
   * qemu:///system). When true and `process` is null, it could not be read yet (a domain
   * still starting has no pid file).
   */
  readonly processExpected: boolean;
  /** The domain's QEMU process on this host, when it could be read. */
  readonly process: QemuProcessFacts | null;
  readonly observedAt: Date;
}

export interface QemuProcessFacts {
  readonly pid: number;
  /**
   * Identifies this process across the host's life: the kernel boot id and the process start
   * in clock ticks since boot. Unlike a wall-clock time it survives clock steps unchanged, so
   * a restarted collector derives the same instance id.
   */
  readonly bootKey: string;
  /** When the process started (from /proc/<pid>/stat): the boot of this instance. */
  readonly startedAt: Date;
  /** Host memory held by the process (VmRSS + HugetlbPages); null if it could not be read. */
  readonly memoryBytes: number | null;
}

/** libvirt's virDomainState values of an active domain, by name. */
export type DomainRunState =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed' | 'pmsuspended';

/** One poll of one libvirt connection. */
export type HostObservation =
  | {
      readonly uri: string;
      readonly ok: true;
      /** Every active domain of the connection; inactive ones are not in it. */
      readonly domains: readonly DomainReading[];
      /** Domains listed, active or not; absent from a watch poll, which lists running ids only. */
      readonly listed?: number | undefined;
      /**
       * Active domains (uuids) that could not be read this time for a reason other than
       * having stopped: their instances are neither sampled nor finalised by this poll.
       */
      readonly unreadable: readonly string[];
    }
  | {
      readonly uri: string;
      readonly ok: false;
      /** Why the connection could not be read; its domains keep their state meanwhile. */
      readonly error: string;
    };
