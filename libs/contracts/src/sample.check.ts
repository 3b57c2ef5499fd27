import { z } from 'zod';
import { isPrintableText, utf8ByteLength } from './primitives.schema';
import { SAMPLE_LIMITS, type SampleEvent } from './sample.event';
import { SCHEMA_VERSIONS } from './topics';

// SampleEventSchema's verdict without zod, for the collectors' own outgoing samples: every
// collector validates each sample it publishes (product.md, "Events"), and at 10,000 containers
// zod's parse was a tenth of docker-collector's busy time. isSampleValid answers exactly what
// SampleEventSchema.safeParse(x).success answers — sample.check.property.spec.ts holds the two
// equal over generated valid samples and samples broken field by field — and canonicalSample
// gives the object zod's parse would (known fields in the schema's order, unknown ones kept
// after them in their order), so the bytes published are the bytes zod's output gave.
// A sample this check refuses goes through zod after all, for zod's error message.

/** zod's own pattern for z.iso.datetime({ offset: true }): the same strings, by construction. */
const TIMESTAMP = z.core.regexes.datetime({ offset: true, local: false, precision: null });
const U64_DIGITS = /^\d{1,20}$/;
const U64_MAX = 2n ** 64n - 1n;

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, maxBytes: number, allowEmpty = false): boolean {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) return false;
  const bytes = printableBytes(value);
  return bytes >= 0 && bytes <= maxBytes;
}

/** text() for a string new in every sample (the sample id): not remembered. */
function uniqueText(value: unknown, maxBytes: number): boolean {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    isPrintableText(value) &&
    utf8ByteLength(value) <= maxBytes
  );
}

/**
 * The same strings come in every sample of an instance (host, ids, name, tenant): what was
 * found of each is kept, a bounded memo (emptied when full) of a pure function of the string.
 */
const MEMO_MAX = 65_536;
const printable = new Map<string, number>();

/** UTF-8 bytes of a printable string, -1 for one that is not (isPrintableText). */
function printableBytes(value: string): number {
  let bytes = printable.get(value);
  if (bytes === undefined) {
    bytes = isPrintableText(value) ? utf8ByteLength(value) : -1;
    if (printable.size >= MEMO_MAX) printable.clear();
    printable.set(value, bytes);
  }
  return bytes;
}

function optionalText(value: unknown, maxBytes: number): boolean {
  return value === undefined || text(value, maxBytes);
}

function timestamp(value: unknown): value is string {
  return typeof value === 'string' && TIMESTAMP.test(value);
}

/** toISOString's form: fixed width, UTC, so text order is time order. */
function isUtcMillis(t: string): boolean {
  return t.length === 24 && t.charCodeAt(23) === 0x5a && t.charCodeAt(19) === 0x2e;
}

/**
 * Date.parse(a) < Date.parse(b) for two timestamps the pattern accepted; without parsing when
 * both are in toISOString's form (what the collectors write), where text order is time order.
 */
function earlier(a: string, b: string): boolean {
  if (isUtcMillis(a) && isUtcMillis(b)) return a < b;
  return Date.parse(a) < Date.parse(b);
}

/** z.number().int() with bounds: a safe integer in [min, max]. */
function int(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function optionalInt(value: unknown, min: number, max: number): boolean {
  return value === undefined || int(value, min, max);
}

function u64(value: unknown): boolean {
  return typeof value === 'string' && U64_DIGITS.test(value) && BigInt(value) <= U64_MAX;
}

function lifecycle(value: unknown): boolean {
  return value === 'running' || value === 'start' || value === 'final';
}

/** Whether SampleEventSchema accepts `value` (its verdict exactly; no message). */
export function isSampleValid(value: unknown): value is SampleEvent {
  if (!isObject(value)) return false;
  const { resource, cpu, memory, inferred } = value;
  if (
    value['schema'] !== SCHEMA_VERSIONS.sample ||
    !uniqueText(value['sampleId'], SAMPLE_LIMITS.idBytes) ||
    (value['source'] !== 'docker' && value['source'] !== 'libvirt') ||
    !text(value['host'], SAMPLE_LIMITS.hostBytes) ||
    !isObject(resource) ||
    (resource['kind'] !== 'container' && resource['kind'] !== 'vm') ||
    !text(resource['id'], SAMPLE_LIMITS.idBytes) ||
    !text(resource['name'], SAMPLE_LIMITS.nameBytes, true) ||
    !optionalText(resource['image'], SAMPLE_LIMITS.imageBytes) ||
    !optionalText(resource['flavour'], SAMPLE_LIMITS.flavourBytes) ||
    !text(resource['tenantId'], SAMPLE_LIMITS.tenantIdBytes) ||
    !text(resource['instanceId'], SAMPLE_LIMITS.idBytes) ||
    !timestamp(resource['startedAt']) ||
    !timestamp(value['observedAt']) ||
    !optionalInt(value['sequence'], 0, SAMPLE_LIMITS.maxSequence) ||
    !lifecycle(value['lifecycle']) ||
    !optionalInt(value['intervalMs'], 1, SAMPLE_LIMITS.maxIntervalMs) ||
    !optionalInt(value['thinned'], 0, SAMPLE_LIMITS.maxThinned) ||
    !isObject(cpu) ||
    !u64(cpu['usageNs']) ||
    !cores(cpu['allocationCores']) ||
    !optionalInt(cpu['hostCores'], 1, SAMPLE_LIMITS.maxHostCores) ||
    !isObject(memory) ||
    !int(memory['usageBytes'], 0, Number.MAX_SAFE_INTEGER) ||
    !(memory['allocationBytes'] === null || int(memory['allocationBytes'], 1, Infinity))
  ) {
    return false;
  }
  // The schema's refinements: no reading from before the start; an inferred final's times.
  const observed = value['observedAt'];
  if (earlier(observed, resource['startedAt'])) return false;
  if (inferred === undefined) return true;
  return (
    isObject(inferred) &&
    text(inferred['reason'], SAMPLE_LIMITS.reasonBytes) &&
    timestamp(inferred['lastSeenAt']) &&
    timestamp(inferred['detectedAt']) &&
    value['lifecycle'] === 'final' &&
    !earlier(observed, inferred['lastSeenAt']) &&
    !earlier(inferred['detectedAt'], observed)
  );
}

function cores(value: unknown): boolean {
  return (
    value === null ||
    (typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= SAMPLE_LIMITS.minAllocationCores &&
      value <= SAMPLE_LIMITS.maxAllocationCores)
  );
}

const TOP_KEYS = [
  'schema',
  'sampleId',
  'source',
  'host',
  'resource',
  'observedAt',
  'sequence',
  'lifecycle',
  'intervalMs',
  'thinned',
  'inferred',
  'cpu',
  'memory',
] as const;
const RESOURCE_KEYS = [
  'kind',
  'id',
  'name',
  'image',
  'flavour',
  'tenantId',
  'instanceId',
  'startedAt',
] as const;
const INFERRED_KEYS = ['reason', 'lastSeenAt', 'detectedAt'] as const;
const CPU_KEYS = ['usageNs', 'allocationCores', 'hostCores'] as const;
const MEMORY_KEYS = ['usageBytes', 'allocationBytes'] as const;

/**
 * What SampleEventSchema's parse gives for a sample isSampleValid accepted: a copy with the
 * schema's fields first, in its order, then the unknown ones in theirs (a loose object keeps
 * them). Only for valid samples: nothing is checked here.
 */
export function canonicalSample(sample: SampleEvent): SampleEvent {
  const out = ordered(sample, TOP_KEYS);
  out['resource'] = ordered(sample.resource, RESOURCE_KEYS);
  if (sample.inferred !== undefined) out['inferred'] = ordered(sample.inferred, INFERRED_KEYS);
  out['cpu'] = ordered(sample.cpu, CPU_KEYS);
  out['memory'] = ordered(sample.memory, MEMORY_KEYS);
  return out as SampleEvent;
}

/**
 * Whether canonicalSample(sample) would serialize as the sample itself: every object of it
 * (the sample, resource, inferred, cpu, memory) plain, its own enumerable keys all known and in
 * the schema's order, and no known key it has otherwise (inherited or not enumerable), which the
 * copy would make its own. A collector that builds its samples in that order then encodes them
 * without a copy; JSON.stringify of either gives the same bytes (sample.check.property.spec.ts).
 */
export function isCanonicalSample(sample: SampleEvent): boolean {
  return (
    inOrder(sample, TOP_KEYS) &&
    inOrder(sample.resource, RESOURCE_KEYS) &&
    (sample.inferred === undefined || inOrder(sample.inferred, INFERRED_KEYS)) &&
    inOrder(sample.cpu, CPU_KEYS) &&
    inOrder(sample.memory, MEMORY_KEYS)
  );
}

function inOrder(source: object, known: readonly string[]): boolean {
  if (Object.getPrototypeOf(source) !== Object.prototype) return false;
  const from = source as Loose;
  let present = 0;
  for (const key of known) if (key in from) present += 1;
  let seen = 0;
  let next = 0;
  for (const key in from) {
    if (!Object.hasOwn(from, key)) return false;
    while (next < known.length && known[next] !== key) next += 1;
    if (next === known.length) return false;
    next += 1;
    seen += 1;
  }
  return seen === present;
}

function ordered(source: object, known: readonly string[]): Loose {
  const from = source as Loose;
  const out: Loose = {};
  for (const key of known) {
    // zod sets a known key the input has, even to undefined (which JSON then leaves out).
    if (key in from) out[key] = from[key];
  }
  for (const key in from) {
    if (Object.hasOwn(from, key) && !known.includes(key)) out[key] = from[key];
  }
  return out;
}
