import { parseDomainFacts } from './domain-metadata.parser';
import { DOMAIN_GONE, messageOf } from './libvirt-terms';

/** What a domain's XML metadata says of it. */
export interface DomainFacts {
  readonly tenantId: string | null;
  readonly flavour: string | null;
}

interface CachedMetadata extends DomainFacts {
  readonly fetchedAtMs: number;
  /** The XML they were parsed from: the same text again is not parsed again. */
  readonly xml: string;
}

/**
 * The tenant (and Nova's flavour) of each boot of a domain, from its XML, read again once
 * `refreshMs` passed: reading it makes libvirtd format the whole live XML.
 */
export class DomainMetadataCache {
  private readonly byKey = new Map<string, CachedMetadata>();

  constructor(
    private readonly refreshMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * The facts of boot `key`, from `readXml` when not cached or older than refreshMs.
   * undefined: the XML could not be read and nothing is cached, so the domain is skipped this
   * poll rather than billed to the default tenant by mistake. `failed` hears why a read or a
   * parse failed (a domain that is gone is not a failure).
   */
  async of(
    key: string,
    readXml: () => Promise<string>,
    failed: (message: string) => void,
  ): Promise<DomainFacts | undefined> {
    const cached = this.byKey.get(key);
    if (cached !== undefined && this.now() - cached.fetchedAtMs < this.refreshMs) return cached;
    let xml: string;
    try {
      xml = await readXml();
    } catch (error) {
      if (!DOMAIN_GONE.test(messageOf(error))) failed(messageOf(error));
      return cached;
    }
    if (cached !== undefined && cached.xml === xml) {
      // Unchanged (the usual case): the parse (milliseconds for a domain's XML) is not repeated.
      const facts = { ...cached, fetchedAtMs: this.now() };
      this.byKey.set(key, facts);
      return facts;
    }
    let tenantId: string | null;
    let flavour: string | null = null;
    try {
      ({ tenantId, flavour } = parseDomainFacts(xml));
    } catch (error) {
      // libvirt wrote this XML; if it cannot be parsed the domain is still metered, under
      // the default tenant, and the error is counted and logged.
      failed(messageOf(error));
      tenantId = null;
    }
    const facts = { tenantId, flavour, fetchedAtMs: this.now(), xml };
    this.byKey.set(key, facts);
    return facts;
  }

  /** Forgets the boots not in `keys`. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.byKey.keys()) if (!keys.has(key)) this.byKey.delete(key);
  }
}
