import { type HostObservation } from '../sampling';
import { type ConnectionStatus } from './libvirt.connection';

/** Where the sampling cycle gets its readings: every active domain of every connection. */
export interface DomainSource {
  /**
   * `full: false` (a poll between two samples) may answer known domains from what the last
   * full poll read, except their state and CPU time, which are always read.
   */
  observe(options?: { full?: boolean }): Promise<HostObservation[]>;
  /** Per-domain read failures of the last observe() (the domains were skipped or kept). */
  errors(): readonly DomainReadError[];
  /**
   * Starts telling `changed` when a domain may have started, stopped or changed state, on the
   * connections where that can be seen without asking libvirtd (see settled()). Answers why it
   * cannot (the polls then go on as without), or null: watching, or nothing it could watch.
   */
  watch(changed: () => void): string | null;
  /**
   * Whether the polls between two samples can be left out until `changed` is called: every
   * connection's starts and stops are signalled, every connection answered its last poll, and no
   * domain is young (a watch poll would read it: its final must carry CPU within a poll).
   */
  settled(): boolean;
  connections(): ConnectionStatus[];
  /** Domains whose CPU time is read from their cgroup, not asked from libvirt (0 if none). */
  cpuFromCgroups?(): number;
  close(): Promise<void>;
}

export interface LibvirtDiscoveryOptions {
  readonly uris: readonly string[];
  /** `host` of domains on local connections; remote ones report their own hostname. */
  readonly hostName: string;
  /** A domain's XML (its tenant) is read again after this long. */
  readonly metadataRefreshMs: number;
  readonly qemuRunDir: string;
  readonly procDir: string;
  /** Bound on each libvirt call, so a hung connection cannot stall the cycle. */
  readonly callTimeoutMs: number;
  /** Domains read at the same time per connection. */
  readonly concurrency: number;
  /**
   * What a watch poll (`full: false`) reads of a domain it knows: `all` (default) its info each
   * time; `young` only while it was first seen less than `youngWindowMs` ago (a domain that may
   * end before its first running sample), the others are answered with their last reading.
   */
  readonly watchReads?: 'all' | 'young';
  /** With `young`: how long a domain counts as young. Default 10 s (the sample interval). */
  readonly youngWindowMs?: number;
  /**
   * How often a full poll lists every domain (active or not: `listed`) and takes fresh handles.
   * Default metadataRefreshMs. In between, full polls list the running ids (one call) and read
   * the domains they know by their handles: an id is one boot of one domain (libvirt never gives
   * it to another while the connection lasts), so its uuid and name need no call again.
   */
  readonly relistMs?: number;
  /**
   * Whether watch() watches the QEMU driver's run directory (qemuRunDir) of a local
   * qemu:///system (RunDirWatch). Default false: the caller polls.
   */
  readonly watchRunDir?: boolean;
  /**
   * Where a known local domain's CPU time comes from between two reads of its info: `cgroup`
   * (default) its cgroup's counter, once it agreed with libvirt's (DomainCgroupReader), while the
   * run directory is watched; its info is then read every metadataRefreshMs and after a change
   * there. `libvirt`: its info at every read.
   */
  readonly cpuSource?: 'cgroup' | 'libvirt';
  /** Where the cgroup hierarchies are mounted. Default /sys/fs/cgroup. */
  readonly cgroupRoot?: string;
}

/** A domain that could not be read, for the logs and the error counter. */
export interface DomainReadError {
  readonly uri: string;
  readonly domain: string;
  readonly stage: 'info' | 'metadata';
  readonly message: string;
}
