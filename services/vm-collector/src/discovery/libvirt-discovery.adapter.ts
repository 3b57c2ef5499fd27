import { type DomainReading, type DomainRunState, type HostObservation } from '../sampling';
import { parseDomainFacts } from './domain-metadata.parser';
import {
  type ConnectionStatus,
  type Hypervisor,
  LibvirtBackoffError,
  LibvirtConnection,
  type LibvirtDomain,
} from './libvirt.connection';
import { QemuProcessReader } from './qemu-process.reader';

/** Where the sampling cycle gets its readings: every active domain of every connection. */
export interface DomainSource {
  observe(): Promise<HostObservation[]>;
  /** Per-domain read failures of the last observe() (the domains were skipped or kept). */
  errors(): readonly DomainReadError[];
  connections(): ConnectionStatus[];
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
}

/** A domain that could not be read, for the logs and the error counter. */
export interface DomainReadError {
  readonly uri: string;
  readonly domain: string;
  readonly stage: 'info' | 'metadata';
  readonly message: string;
}

interface CachedMetadata {
  readonly tenantId: string | null;
  readonly flavour: string | null;
  readonly fetchedAtMs: number;
}

const STATES: Readonly<Record<number, DomainRunState | 'shutoff'>> = {
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
const DOMAIN_GONE = /domain not found|no domain with matching|domain is not running/i;

/**
 * Reads the domains of each configured libvirt URI: list all, then for each active one its
 * info (state, cpuTime, memory, max memory, vCPUs — one call), its tenant from the XML
 * metadata (read again every metadataRefreshMs) and, on a local qemu:///system, its QEMU
 * process (start time, RSS).
 */
export class LibvirtDiscovery implements DomainSource {
  private readonly connectionsByUri: LibvirtConnection[];
  private readonly processes: QemuProcessReader;
  private readonly metadata = new Map<string, CachedMetadata>();
  private readonly hosts = new Map<string, string>();
  private lastErrors: DomainReadError[] = [];

  constructor(
    private readonly options: LibvirtDiscoveryOptions,
    /** Time of readings: the collector clock (ADR 0009) in the service, epoch ms. */
    private readonly now: () => number = Date.now,
    /** A wall-clock time (a QEMU process's start) on the same time line as `now`. */
    private readonly fromWall: (wallMs: number) => number = (wallMs) => wallMs,
  ) {
    this.connectionsByUri = options.uris.map(
      (uri) => new LibvirtConnection(uri, options.callTimeoutMs, now),
    );
    this.processes = new QemuProcessReader({
      runDir: options.qemuRunDir,
      procDir: options.procDir,
    });
  }

  async observe(): Promise<HostObservation[]> {
    this.lastErrors = [];
    const observations = await Promise.all(this.connectionsByUri.map((c) => this.observeOne(c)));
    const live = observations.flatMap((o) => (o.ok ? o.domains : []));
    this.processes.retain(live);
    const liveKeys = new Set(live.map((d) => metadataKey(d.uri, d.uuid, d.domainId)));
    for (const key of this.metadata.keys()) if (!liveKeys.has(key)) this.metadata.delete(key);
    return observations;
  }

  errors(): readonly DomainReadError[] {
    return this.lastErrors;
  }

  connections(): ConnectionStatus[] {
    return this.connectionsByUri.map((c) => c.status());
  }

  async close(): Promise<void> {
    await Promise.all(this.connectionsByUri.map((c) => c.close()));
  }

  private async observeOne(connection: LibvirtConnection): Promise<HostObservation> {
    const uri = connection.uri;
    let hypervisor: Hypervisor;
    let domains: LibvirtDomain[];
    let host: string;
    try {
      hypervisor = await connection.open();
      host = await this.hostOf(connection, hypervisor);
      domains = await connection.bounded(hypervisor.connectListAllDomains(), 'list domains');
    } catch (error) {
      // Waiting out the backoff is not a new failure: it must not push the retry further.
      if (!(error instanceof LibvirtBackoffError)) connection.failed(error);
      return { uri, ok: false, error: messageOf(error) };
    }
    const processExpected = isLocalQemuSystem(uri);
    const readings: DomainReading[] = [];
    const unreadable: string[] = [];
    try {
      await forEachLimited(domains, this.options.concurrency, async (domain) => {
        const result = await this.readDomain(connection, hypervisor, domain, host, processExpected);
        if (result.kind === 'active') readings.push(result.reading);
        if (result.kind === 'unreadable') unreadable.push(result.uuid);
      });
    } catch (error) {
      // Not even a domain's uuid could be read: without it, a missing domain cannot be told
      // from a stopped one, so this poll of the connection says nothing at all.
      return { uri, ok: false, error: messageOf(error) };
    }
    connection.succeeded();
    return { uri, ok: true, domains: readings, listed: domains.length, unreadable };
  }

  private async readDomain(
    connection: LibvirtConnection,
    hypervisor: Hypervisor,
    domain: LibvirtDomain,
    host: string,
    processExpected: boolean,
  ): Promise<
    | { kind: 'active'; reading: DomainReading }
    | { kind: 'inactive' }
    | { kind: 'unreadable'; uuid: string }
  > {
    const uri = connection.uri;
    // Name, uuid and id travel with the domain handle: no round trip to libvirtd.
    const [id, uuid, name] = await Promise.all([
      hypervisor.domainGetID(domain).catch(() => null),
      hypervisor.domainGetUUIDString(domain),
      hypervisor.domainGetName(domain),
    ]);
    // Inactive domains have no id (the binding gives null or undefined; libvirt -1).
    if (id === null || id === undefined || id < 0) return { kind: 'inactive' };

    let info: Awaited<ReturnType<Hypervisor['domainGetInfo']>>;
    try {
      info = await connection.bounded(hypervisor.domainGetInfo(domain), `info ${name}`);
    } catch (error) {
      if (DOMAIN_GONE.test(messageOf(error))) return { kind: 'inactive' };
      this.lastErrors.push({ uri, domain: name, stage: 'info', message: messageOf(error) });
      return { kind: 'unreadable', uuid };
    }
    const observedAt = new Date(this.now());
    const state = STATES[info.state] ?? 'nostate';
    if (state === 'shutoff') return { kind: 'inactive' };

    const described = await this.metadataOf(connection, hypervisor, domain, uuid, name, id);
    if (described === undefined) return { kind: 'unreadable', uuid };
    const facts = processExpected ? await this.processes.read(name, uuid, id) : null;
    // The process start is the boot time (wall clock) plus ticks: on the readings' time line.
    const process =
      facts === null
        ? null
        : { ...facts, startedAt: new Date(this.fromWall(facts.startedAt.getTime())) };
    return {
      kind: 'active',
      reading: {
        uri,
        host,
        uuid,
        name,
        domainId: id,
        state,
        // The binding hands cpuTime over as a double: exact up to 2^53 ns (104 CPU-days),
        // beyond that within a few hundred ns — and rounding keeps it monotonic.
        cpuTimeNs: BigInt(Math.max(0, Math.round(info.cpuTime))),
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

  /**
   * The tenant (and Nova's flavour) from the domain XML, cached per boot for metadataRefreshMs. undefined: the
   * XML could not be read and nothing is cached, so the domain is skipped this poll rather
   * than billed to the default tenant by mistake.
   */
  private async metadataOf(
    connection: LibvirtConnection,
    hypervisor: Hypervisor,
    domain: LibvirtDomain,
    uuid: string,
    name: string,
    id: number,
  ): Promise<{ tenantId: string | null; flavour: string | null } | undefined> {
    const key = metadataKey(connection.uri, uuid, id);
    const cached = this.metadata.get(key);
    if (cached !== undefined && this.now() - cached.fetchedAtMs < this.options.metadataRefreshMs) {
      return cached;
    }
    let xml: string;
    try {
      xml = await connection.bounded(hypervisor.domainGetXMLDesc(domain), `xml ${name}`);
    } catch (error) {
      if (!DOMAIN_GONE.test(messageOf(error))) {
        this.lastErrors.push({
          uri: connection.uri,
          domain: name,
          stage: 'metadata',
          message: messageOf(error),
        });
      }
      return cached;
    }
    let tenantId: string | null;
    let flavour: string | null = null;
    try {
      ({ tenantId, flavour } = parseDomainFacts(xml));
    } catch (error) {
      // libvirt wrote this XML; if it cannot be parsed the domain is still metered, under
      // the default tenant, and the error is counted and logged.
      this.lastErrors.push({
        uri: connection.uri,
        domain: name,
        stage: 'metadata',
        message: messageOf(error),
      });
      tenantId = null;
    }
    const facts = { tenantId, flavour, fetchedAtMs: this.now() };
    this.metadata.set(key, facts);
    return facts;
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

function metadataKey(uri: string, uuid: string, domainId: number): string {
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
