import { mapConcurrent } from '@metering/observability/resilience';
import { type DomainReading, type HostObservation } from '../sampling';
import { DomainMetadataCache, type DomainFacts } from './domain-metadata.cache';
import {
  type ConnectionStatus,
  type Hypervisor,
  LibvirtBackoffError,
  LibvirtConnection,
  type LibvirtDomain,
  loadLibvirt,
} from './libvirt.connection';
import {
  DOMAIN_GONE,
  isLocalQemuSystem,
  isRemote,
  messageOf,
  metadataKey,
  STATES,
} from './libvirt-terms';
import {
  type DomainReadError,
  type DomainSource,
  type LibvirtDiscoveryOptions,
} from './domain-source';
import { DomainCgroupReader } from './domain-cgroup.reader';
import { QemuProcessReader } from './qemu-process.reader';
import { RunDirWatch } from './run-dir.watch';

/** A domain a full poll read, by its libvirt id: what a watch poll needs to read it again. */
interface KnownDomain {
  readonly domain: LibvirtDomain;
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
  /** Its last active reading (what a watch poll with `young` answers for it when not young). */
  last?: DomainReading;
  /** When its info was last read from libvirt, and the run directory's changes then. */
  infoAtMs?: number;
  infoChanges?: number;
}

/** The known domains of one open connection (handles belong to the connection they came from). */
interface KnownDomains {
  readonly hypervisor: Hypervisor;
  readonly byId: Map<number, KnownDomain>;
  /** When every domain was last listed (connectListAllDomains), on the readings' clock. */
  readonly listedAtMs: number;
}

/**
 * Reads the domains of each configured libvirt URI. A full poll (each sample): the ids of the
 * running domains (one call; every relistMs, and on a new connection, all domains with fresh
 * handles instead), then for each active one its info (state, cpuTime, memory, max memory,
 * vCPUs — one call), its tenant from the XML metadata (read again every metadataRefreshMs) and,
 * on a local qemu:///system, its QEMU process (start time, RSS). A watch poll (between samples,
 * to catch starts and ends within a poll): the ids of the running domains (one call) and the
 * info of each (one call) — with `watchReads: 'young'` only of the domains first seen within
 * `youngWindowMs`, the others answered with their last reading. A domain listed under an id not
 * known yet is looked up and read in full (handle, uuid, name), by either kind of poll; a known
 * one is read through the handle it was first read with.
 */
export class LibvirtDiscovery implements DomainSource {
  private readonly connectionsByUri: LibvirtConnection[];
  private readonly processes: QemuProcessReader;
  private readonly metadata: DomainMetadataCache;
  private readonly hosts = new Map<string, string>();
  private readonly known = new Map<string, KnownDomains>();
  private lastErrors: DomainReadError[] = [];
  /** When each boot (uri, uuid, id) was first read: young ones are read by every watch poll. */
  private readonly firstSeen = new Map<string, number>();
  private runDirWatch: RunDirWatch | null = null;
  /** Changes seen in the run directory: a domain's info read before the last one is stale. */
  private runDirChanges = 0;
  private readonly cgroups: DomainCgroupReader;

  constructor(
    private readonly options: LibvirtDiscoveryOptions,
    /** Time of readings: the collector clock (ADR 0009) in the service, epoch ms. */
    private readonly now: () => number = Date.now,
    /** A wall-clock time (a QEMU process's start) on the same time line as `now`. */
    private readonly fromWall: (wallMs: number) => number = (wallMs) => wallMs,
  ) {
    this.metadata = new DomainMetadataCache(options.metadataRefreshMs, now);
    this.connectionsByUri = options.uris.map(
      (uri) => new LibvirtConnection(uri, options.callTimeoutMs, now),
    );
    this.processes = new QemuProcessReader({
      runDir: options.qemuRunDir,
      procDir: options.procDir,
    });
    this.cgroups = new DomainCgroupReader({
      procDir: options.procDir,
      cgroupRoot: options.cgroupRoot ?? '/sys/fs/cgroup',
    });
  }

  async observe({ full = true }: { full?: boolean } = {}): Promise<HostObservation[]> {
    this.lastErrors = [];
    // A watch that broke is tried again at each sample (settled() is false meanwhile).
    if (full) this.runDirWatch?.ensure();
    const observations = await Promise.all(
      this.connectionsByUri.map((c) => this.observeOne(c, full)),
    );
    const live = observations.flatMap((o) => (o.ok ? o.domains : []));
    this.processes.retain(live);
    const liveKeys = new Set(live.map((d) => metadataKey(d.uri, d.uuid, d.domainId)));
    this.cgroups.retain(liveKeys);
    this.metadata.retain(liveKeys);
    for (const key of this.firstSeen.keys()) if (!liveKeys.has(key)) this.firstSeen.delete(key);
    return observations;
  }

  /** Whether a watch poll reads a known domain again rather than answer its last reading. */
  private readsAgain(last: DomainReading): boolean {
    if ((this.options.watchReads ?? 'all') === 'all') return true;
    // Waiting for its QEMU process (a domain just booting): read until the process is known.
    if (last.processExpected && last.process === null) return true;
    const first = this.firstSeen.get(metadataKey(last.uri, last.uuid, last.domainId));
    return first === undefined || this.now() - first < (this.options.youngWindowMs ?? 10_000);
  }

  errors(): readonly DomainReadError[] {
    return this.lastErrors;
  }

  watch(changed: () => void): string | null {
    if (this.options.watchRunDir !== true || !this.options.uris.some(isLocalQemuSystem)) {
      return null;
    }
    this.runDirWatch ??= new RunDirWatch(this.options.qemuRunDir, () => {
      this.runDirChanges += 1;
      changed();
    });
    return this.runDirWatch.ensure() ? null : this.runDirWatch.error();
  }

  settled(): boolean {
    if (this.runDirWatch?.active() !== true) return false;
    if ((this.options.watchReads ?? 'all') !== 'young') return false;
    if (!this.options.uris.every(isLocalQemuSystem)) return false;
    for (const c of this.connectionsByUri) {
      const status = c.status();
      if (!status.connected || status.lastError !== null) return false;
    }
    const youngAfter = this.now() - (this.options.youngWindowMs ?? 10_000);
    for (const first of this.firstSeen.values()) if (first > youngAfter) return false;
    return true;
  }

  cpuFromCgroups(): number {
    return this.cgroupCpu() ? this.cgroups.heldCount : 0;
  }

  connections(): ConnectionStatus[] {
    return this.connectionsByUri.map((c) => c.status());
  }

  async close(): Promise<void> {
    this.runDirWatch?.close();
    this.cgroups.close();
    await Promise.all(this.connectionsByUri.map((c) => c.close()));
  }

  private async observeOne(connection: LibvirtConnection, full: boolean): Promise<HostObservation> {
    const uri = connection.uri;
    let hypervisor: Hypervisor;
    let host: string;
    let known: KnownDomains | undefined;
    let toRead: (LibvirtDomain | KnownDomain)[];
    let listed: number | undefined;
    const kept: DomainReading[] = [];
    try {
      hypervisor = await connection.open();
      host = await this.hostOf(connection, hypervisor);
      known = this.known.get(uri);
      if (known?.hypervisor !== hypervisor) known = undefined;
      const relistMs = this.options.relistMs ?? this.options.metadataRefreshMs;
      let ids: number[] | undefined;
      if (known !== undefined && !(full && this.now() - known.listedAtMs >= relistMs)) {
        ids = await connection.bounded(hypervisor.connectListDomains(), 'list domain ids');
        if (ids.length === 0) {
          // The binding answers a failed id list with an empty one (it drops libvirt's error: a
          // broken connection would look like every domain ended), so an empty list is checked
          // by a listing of the active domains, which reports errors (it throws here). One found
          // after all (started in between): every domain is listed below.
          const { ConnectListAllDomainsFlags } = await loadLibvirt();
          const active = await connection.bounded(
            hypervisor.connectListAllDomains(ConnectListAllDomainsFlags.ACTIVE),
            'list active domains',
          );
          if (active.length > 0) ids = undefined;
        }
      }
      if (ids === undefined || known === undefined) {
        const domains = await connection.bounded(
          hypervisor.connectListAllDomains(),
          'list domains',
        );
        listed = domains.length;
        known = { hypervisor, byId: new Map(), listedAtMs: this.now() };
        this.known.set(uri, known);
        toRead = domains;
      } else {
        const cache = known;
        toRead = await Promise.all(
          ids.map(async (id) => {
            const cached = cache.byId.get(id);
            if (!full && cached?.last !== undefined && !this.readsAgain(cached.last)) {
              // Listed under the same id, so the same boot, still active: its last reading.
              kept.push(cached.last);
              return null;
            }
            if (cached !== undefined) return cached;
            // Started since the last full poll: read in full. Gone again already: the lookup
            // fails with "domain not found", and the domain is left out like an inactive one.
            return connection
              .bounded(hypervisor.domainLookupByID(id), `lookup ${id}`)
              .catch((error: unknown) => {
                if (DOMAIN_GONE.test(messageOf(error))) return null;
                throw error;
              });
          }),
        ).then((found) => found.filter((d): d is LibvirtDomain | KnownDomain => d !== null));
        const listedIds = new Set(ids);
        for (const id of cache.byId.keys()) if (!listedIds.has(id)) cache.byId.delete(id);
      }
    } catch (error) {
      // Waiting out the backoff is not a new failure: it must not push the retry further.
      if (!(error instanceof LibvirtBackoffError)) connection.failed(error);
      return { uri, ok: false, error: messageOf(error) };
    }
    const processExpected = isLocalQemuSystem(uri);
    const readings: DomainReading[] = kept;
    const unreadable: string[] = [];
    const cache = known;
    try {
      await mapConcurrent(toRead, this.options.concurrency, async (domain) => {
        const result = await this.readDomain(connection, hypervisor, domain, host, {
          processExpected,
          full,
          remember: (id, entry) => cache.byId.set(id, entry),
        });
        if (result.kind === 'active') {
          readings.push(result.reading);
          const entry = cache.byId.get(result.reading.domainId);
          if (entry !== undefined) entry.last = result.reading;
        }
        if (result.kind === 'unreadable') unreadable.push(result.uuid);
      });
    } catch (error) {
      // Not even a domain's uuid could be read: without it, a missing domain cannot be told
      // from a stopped one, so this poll of the connection says nothing at all.
      return { uri, ok: false, error: messageOf(error) };
    }
    connection.succeeded();
    return { uri, ok: true, domains: readings, listed, unreadable };
  }

  private async readDomain(
    connection: LibvirtConnection,
    hypervisor: Hypervisor,
    handle: LibvirtDomain | KnownDomain,
    host: string,
    how: {
      processExpected: boolean;
      full: boolean;
      remember: (id: number, known: KnownDomain) => void;
    },
  ): Promise<
    | { kind: 'active'; reading: DomainReading }
    | { kind: 'inactive' }
    | { kind: 'unreadable'; uuid: string }
  > {
    const uri = connection.uri;
    const { processExpected, full } = how;
    let domain: LibvirtDomain;
    let id: number | null | undefined;
    let uuid: string;
    let name: string;
    if (isKnown(handle)) {
      // Listed under this id just now, and an id is never another boot's: no call needed.
      ({ domain, id, uuid, name } = handle);
      const reading = await this.fromCgroup(connection, hypervisor, handle, full);
      if (reading !== null) return { kind: 'active', reading };
    } else {
      domain = handle;
      // Name, uuid and id travel with the domain handle: no round trip to libvirtd.
      [id, uuid, name] = await Promise.all([
        hypervisor.domainGetID(domain).catch(() => null),
        hypervisor.domainGetUUIDString(domain),
        hypervisor.domainGetName(domain),
      ]);
    }
    // Inactive domains have no id (the binding gives null or undefined; libvirt -1).
    if (id === null || id === undefined || id < 0) return { kind: 'inactive' };
    const entry: KnownDomain = { domain, id, uuid, name };
    how.remember(id, entry);

    let info: Awaited<ReturnType<Hypervisor['domainGetInfo']>>;
    const askedAtMs = this.now();
    const changes = this.runDirChanges;
    try {
      info = await connection.bounded(hypervisor.domainGetInfo(domain), `info ${name}`);
      entry.infoAtMs = askedAtMs;
      entry.infoChanges = changes;
    } catch (error) {
      if (DOMAIN_GONE.test(messageOf(error))) return { kind: 'inactive' };
      this.lastErrors.push({ uri, domain: name, stage: 'info', message: messageOf(error) });
      return { kind: 'unreadable', uuid };
    }
    const observedAt = new Date(this.now());
    const state = STATES[info.state] ?? 'nostate';
    if (state === 'shutoff') return { kind: 'inactive' };
    const bootKey = metadataKey(uri, uuid, id);
    if (!this.firstSeen.has(bootKey)) this.firstSeen.set(bootKey, observedAt.getTime());

    const described = await this.metadataOf(connection, hypervisor, domain, uuid, name, id);
    if (described === undefined) return { kind: 'unreadable', uuid };
    const facts = processExpected
      ? await this.processes.read(name, uuid, id, { refresh: full })
      : null;
    // The process start is the boot time (wall clock) plus ticks: on the readings' time line.
    const process =
      facts === null
        ? null
        : { ...facts, startedAt: new Date(this.fromWall(facts.startedAt.getTime())) };
    // The binding hands cpuTime over as a double: exact up to 2^53 ns (104 CPU-days),
    // beyond that within a few hundred ns — and rounding keeps it monotonic.
    const cpuTimeNs = BigInt(Math.max(0, Math.round(info.cpuTime)));
    if (facts !== null && this.cgroupCpu()) {
      // What the domain may have run since libvirtd read its counter: every vCPU and QEMU's own
      // threads busy, from the call on, plus a margin for this process's own delays.
      const sinceMs = BigInt(Math.ceil(this.now() - askedAtMs) + 50);
      const tolerance = BigInt(info.nrVirtCpu + 1) * sinceMs * 1_000_000n;
      this.cgroups.verify(bootKey, facts.pid, cpuTimeNs, tolerance);
    }
    return {
      kind: 'active',
      reading: {
        uri,
        host,
        uuid,
        name,
        domainId: id,
        state,
        cpuTimeNs,
        vcpus: info.nrVirtCpu,
        memoryBytes: info.memory * 1024,
        maxMemoryBytes: info.maxMem * 1024,
        tenantId: described.tenantId,
        flavour: described.flavour,
        processExpected,
        process,
        observedAt,
      },
    };
  }

  /** Whether the CPU time of local domains may come from their cgroups (cgroupCpu, watched). */
  private cgroupCpu(): boolean {
    return this.options.cpuSource !== 'libvirt' && this.runDirWatch?.active() === true;
  }

  /**
   * A known domain read without asking libvirtd: its CPU time from its cgroup (verified against
   * libvirt's own figure when its info was last read), its QEMU process's memory, the rest
   * (state, vCPUs, balloon) from its last info — while that is younger than metadataRefreshMs
   * and the run directory, where libvirtd writes a domain's status on every change of state,
   * has not changed since. null: read it from libvirt.
   */
  private async fromCgroup(
    connection: LibvirtConnection,
    hypervisor: Hypervisor,
    known: KnownDomain,
    full: boolean,
  ): Promise<DomainReading | null> {
    const { last, infoAtMs, infoChanges } = known;
    if (last === undefined || last.process === null || infoAtMs === undefined) return null;
    if (!this.cgroupCpu() || infoChanges !== this.runDirChanges) return null;
    if (this.now() - infoAtMs >= this.options.metadataRefreshMs) return null;
    const cpuTimeNs = this.cgroups.read(metadataKey(last.uri, last.uuid, last.domainId));
    if (cpuTimeNs === null) return null;
    const observedAt = new Date(this.now());
    const { uuid, name, domainId } = last;
    const facts = await this.processes.read(name, uuid, domainId, { refresh: full });
    const { domain } = known;
    const described = await this.metadataOf(connection, hypervisor, domain, uuid, name, domainId);
    if (facts === null || described === undefined) return null;
    const process = { ...facts, startedAt: last.process.startedAt };
    const { tenantId, flavour } = described;
    return { ...last, tenantId, flavour, cpuTimeNs, process, observedAt };
  }

  /** The tenant and flavour of a boot, from the metadata cache (its XML read when due). */
  private metadataOf(
    connection: LibvirtConnection,
    hypervisor: Hypervisor,
    domain: LibvirtDomain,
    uuid: string,
    name: string,
    id: number,
  ): Promise<DomainFacts | undefined> {
    const uri = connection.uri;
    return this.metadata.of(
      metadataKey(uri, uuid, id),
      () => connection.bounded(hypervisor.domainGetXMLDesc(domain), `xml ${name}`),
      (message) => this.lastErrors.push({ uri, domain: name, stage: 'metadata', message }),
    );
  }

  private async hostOf(connection: LibvirtConnection, hypervisor: Hypervisor): Promise<string> {
    if (!isRemote(connection.uri)) return this.options.hostName;
    let host = this.hosts.get(connection.uri);
    if (host === undefined) {
      host = await connection.bounded(hypervisor.connectGetHostname(), 'hostname');
      this.hosts.set(connection.uri, host);
    }
    return host;
  }
}

function isKnown(handle: LibvirtDomain | KnownDomain): handle is KnownDomain {
  return typeof handle === 'object' && handle !== null && 'uuid' in handle && 'domain' in handle;
}
