import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Our namespace: `<metering:tenant xmlns:metering="urn:metering:1">acme</metering:tenant>`. */
export const METERING_NS = 'urn:metering:1';
/** OpenStack Nova's, versioned (…/nova/1.0, 1.1, 1.2): any version is accepted. */
export const NOVA_NS_PREFIX = 'http://openstack.org/xmlns/libvirt/nova/';

export type TenantSource = 'metering' | 'nova';

export interface DomainMetadata {
  /** null: the domain carries no tenant; it is metered under the default tenant. */
  readonly tenantId: string | null;
  readonly tenantSource: TenantSource | null;
}

/** The domain XML could not be parsed. */
export class DomainXmlError extends Error {
  readonly code = 'DOMAIN_XML_INVALID';

  constructor(message: string) {
    super(message);
    this.name = 'DomainXmlError';
  }
}

/**
 * The tenant of a domain from its `<metadata>`:
 * 1. ours, `<tenant>` in namespace urn:metering:1 (whatever prefix it was written with), or
 * 2. OpenStack Nova's `<instance><owner><project uuid="…">`, so Nova hosts work as they are.
 * Ours wins when both are present. Namespaces are resolved properly: libvirt keeps the prefix
 * it was given, so only the namespace URI identifies an element.
 */
export function parseDomainMetadata(xml: string): DomainMetadata {
  return tenantOf(metadataEntries(xml));
}

/** The tenant and, from Nova's metadata, the flavour (`<nova:flavor name="m1.small">`). */
export function parseDomainFacts(
  xml: string,
): DomainMetadata & { readonly flavour: string | null } {
  const entries = metadataEntries(xml);
  return { ...tenantOf(entries), flavour: novaFlavourOf(entries) };
}

function metadataEntries(xml: string): XmlElement[] {
  const domain = parseXml(xml).find((element) => element.local === 'domain');
  if (domain === undefined) throw new DomainXmlError('no <domain> element');
  const metadata = domain.children.filter((c) => c.local === 'metadata' && c.ns === null);
  return metadata.flatMap((m) => m.children);
}

function novaFlavourOf(entries: readonly XmlElement[]): string | null {
  for (const entry of entries) {
    if (entry.local !== 'instance' || !entry.ns?.startsWith(NOVA_NS_PREFIX)) continue;
    const ns = entry.ns;
    const flavour = entry.children
      .find((c) => c.ns === ns && c.local === 'flavor')
      ?.attributes['name']?.trim();
    if (flavour !== undefined && flavour !== '') return flavour;
  }
  return null;
}

function tenantOf(entries: readonly XmlElement[]): DomainMetadata {
  for (const entry of entries) {
    if (entry.ns === METERING_NS && entry.local === 'tenant') {
      const tenant = entry.text.trim();
      if (tenant !== '') return { tenantId: tenant, tenantSource: 'metering' };
    }
  }
  for (const entry of entries) {
    if (entry.local !== 'instance' || !entry.ns?.startsWith(NOVA_NS_PREFIX)) continue;
    const ns = entry.ns;
    const project = entry.children
      .filter((c) => c.ns === ns && c.local === 'owner')
      .flatMap((owner) => owner.children)
      .find((c) => c.ns === ns && c.local === 'project');
    const uuid = project?.attributes['uuid']?.trim();
    if (uuid !== undefined && uuid !== '') return { tenantId: uuid, tenantSource: 'nova' };
  }
  return { tenantId: null, tenantSource: null };
}

/** An element with its namespace resolved. */
interface XmlElement {
  /** Namespace URI; null when none is in scope. */
  readonly ns: string | null;
  /** Name without prefix. */
  readonly local: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly text: string;
  readonly children: readonly XmlElement[];
}

/** fast-xml-parser's ordered output: `{ tag: [children], ':@': { attr: value } }` or text. */
type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // libvirt XML declares no entities; refuse to expand any a hostile document could define.
  processEntities: { enabled: true, maxEntityCount: 0 },
});

function parseXml(xml: string): XmlElement[] {
  // The parser is lenient (an unclosed tag is closed for it); a truncated document must not
  // pass for one without metadata.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new DomainXmlError(`line ${valid.err.line}: ${valid.err.msg}`);
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(xml);
  } catch (error) {
    throw new DomainXmlError(error instanceof Error ? error.message : String(error));
  }
  if (!Array.isArray(nodes)) throw new DomainXmlError('unexpected parser output');
  return elementsOf(nodes, new Map());
}

function elementsOf(nodes: readonly unknown[], scope: ReadonlyMap<string, string>): XmlElement[] {
  const elements: XmlElement[] = [];
  for (const node of nodes) {
    if (typeof node !== 'object' || node === null) continue;
    const entry = node as OrderedNode;
    const tag = Object.keys(entry).find((key) => key !== ':@' && key !== '#text');
    if (tag === undefined || tag.startsWith('?')) continue;
    const attributes = stringRecord(entry[':@']);
    const inner = scopeWith(scope, attributes);
    const body = entry[tag];
    const content = Array.isArray(body) ? (body as unknown[]) : [];
    const separator = tag.indexOf(':');
    const prefix = separator < 0 ? '' : tag.slice(0, separator);
    elements.push({
      ns: inner.get(prefix) ?? null,
      local: separator < 0 ? tag : tag.slice(separator + 1),
      attributes,
      text: content
        .map((child) => (child as OrderedNode)['#text'])
        .filter((text): text is string => typeof text === 'string')
        .join(''),
      children: elementsOf(content, inner),
    });
  }
  return elements;
}

/** The namespace declarations in scope inside an element: `xmlns` is the default (''). */
function scopeWith(
  scope: ReadonlyMap<string, string>,
  attributes: Readonly<Record<string, string>>,
): ReadonlyMap<string, string> {
  let inner: Map<string, string> | undefined;
  for (const [name, value] of Object.entries(attributes)) {
    if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
    inner ??= new Map(scope);
    inner.set(name === 'xmlns' ? '' : name.slice('xmlns:'.length), value);
  }
  return inner ?? scope;
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((pair): pair is [string, string] => typeof pair[1] === 'string'),
  );
}
