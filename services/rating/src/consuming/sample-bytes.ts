import { SAMPLE_LIMITS, SCHEMA_VERSIONS } from '@metering/contracts';
import { type MeteredSample } from '../domain';
import { BoundedStrings } from './bounded-strings';
import { isoMillis } from './iso-millis';
import { coresToDecimal } from './sample.mapper';

// A sample read from its bytes straight into the domain's MeteredSample, for the shape collectors
// publish (JSON.stringify of the contract's fields: printable ASCII, no escapes, no unknown or
// repeated keys, integers as plain digits, timestamps as `YYYY-MM-DDTHH:MM:SS[.mmm]Z`). It makes
// no parsed object, no string per field and no timestamp text: the ids and names come from a table
// of the strings already seen, found by the bytes' hash. Anything else — an escape, a non-ASCII
// byte, a field it does not know, a number with a fraction or an exponent where an integer goes,
// another time zone, a value the contract refuses — is not judged here: the function returns
// null and the caller decodes the message the contract's way (decodeSampleFast), which accepts or
// words the reason. So for every input the result is that of decodeSampleFast and
// toMeteredSample, or null; sample-bytes.spec.ts holds it to that on valid and mutated samples.

const L = SAMPLE_LIMITS;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;

/** A bailout: the input is not of the shape this reader takes (made once: no stack per throw). */
const NOT_FAST = new Error('not of the collectors’ shape');

// A Buffer, as kafkajs's values are: the reader's byte reads stay of one kind.
const EMPTY = Buffer.alloc(0);
let b: Uint8Array = EMPTY;
let i = 0;

function fail(): never {
  throw NOT_FAST;
}

function skipSpace(): void {
  let c = b[i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
}

function expect(byte: number): void {
  skipSpace();
  if (b[i] !== byte) fail();
  i += 1;
}

/** A string of printable ASCII without escapes: its bytes are b[start, end). Returns start. */
let end = 0;
function asciiString(): number {
  const buf = b;
  const length = buf.length;
  let k = i;
  let c = buf[k];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = buf[++k];
  if (c !== QUOTE) fail();
  const start = ++k;
  for (;;) {
    if (k >= length) fail();
    c = buf[k]!;
    if (c === QUOTE) break;
    // Controls, DEL, escapes and non-ASCII are not taken here.
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) fail();
    k += 1;
  }
  end = k;
  i = k + 1;
  return start;
}

function bytesAre(start: number, text: string): boolean {
  const n = text.length;
  if (end - start !== n) return false;
  const buf = b;
  for (let k = 0; k < n; k++) if (buf[start + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** A text field of at most `maxBytes` (ASCII: one byte a character). */
function text(maxBytes: number, allowEmpty: boolean): number {
  const start = asciiString();
  const n = end - start;
  if (n > maxBytes || (n === 0 && !allowEmpty)) fail();
  return start;
}

// The strings already seen (ids, names, tenants, hosts): a hash of the bytes finds the string, so
// a sample of a known resource makes none. Bounded like the mapper's table.
const seen = new BoundedStrings<number>(200_000, 8_000_000);

/** b[start, stop) as text (bytes the reader took: printable ASCII). */
function textOf(start: number, stop: number): string {
  return String.fromCharCode.apply(null, b.subarray(start, stop) as unknown as number[]);
}

function stringOf(start: number, stop: number): string {
  const buf = b;
  let h = 0x811c9dc5;
  for (let k = start; k < stop; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
  h = (h ^ (stop - start)) >>> 0;
  const known = seen.get(h);
  if (known !== undefined && known.length === stop - start) {
    let k = 0;
    while (k < known.length && known.charCodeAt(k) === buf[start + k]) k += 1;
    if (k === known.length) return known;
  }
  const made = textOf(start, stop);
  seen.set(h, made);
  return made;
}

/** Digits up to a delimiter: a non-negative integer within Number.MAX_SAFE_INTEGER. */
function safeInteger(): number {
  skipSpace();
  const start = i;
  let v = 0;
  let c = b[i];
  while (c !== undefined && c >= ZERO && c <= NINE) {
    v = v * 10 + (c - ZERO);
    c = b[++i];
  }
  const n = i - start;
  // None, a leading zero (JSON forbids it), a sign, a fraction or an exponent: not here.
  if (n === 0 || n > 16 || (n > 1 && b[start] === ZERO) || v > Number.MAX_SAFE_INTEGER) fail();
  if (c === DOT || c === 0x65 || c === 0x45) fail();
  return v;
}

function isNull(): boolean {
  skipSpace();
  if (b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
    i += 4;
    return true;
  }
  return false;
}

/**
 * A JSON number with at most 6 integer and 9 fraction digits, no sign or exponent, as the double
 * JSON.parse makes of it: the digits as one integer below 2^53 divided by a power of ten, both
 * exact, is the correctly rounded quotient, which is the decimal's nearest double.
 */
function decimal(): number {
  skipSpace();
  let whole = 0;
  let digits = 0;
  const start = i;
  let c = b[i];
  while (c !== undefined && c >= ZERO && c <= NINE) {
    whole = whole * 10 + (c - ZERO);
    c = b[++i];
  }
  const n = i - start;
  if (n === 0 || n > 6 || (n > 1 && b[start] === ZERO)) fail();
  let scale = 1;
  if (c === DOT) {
    c = b[++i];
    while (c !== undefined && c >= ZERO && c <= NINE) {
      whole = whole * 10 + (c - ZERO);
      scale *= 10;
      digits += 1;
      c = b[++i];
    }
    if (digits === 0 || digits > 9) fail();
  }
  if (c === 0x65 || c === 0x45) fail();
  return whole / scale;
}

/** A timestamp (isoMillis' forms): epoch milliseconds. */
function timestamp(): number {
  const s = asciiString();
  const ms = isoMillis(b, s, end);
  if (Number.isNaN(ms)) fail();
  return ms;
}

const U64_MAX = 2n ** 64n - 1n;

/** The cumulative counter: a string of 1 to 20 digits, at most 2^64 − 1. */
function u64(): bigint {
  const s = asciiString();
  const n = end - s;
  if (n === 0 || n > 20) fail();
  let v = 0;
  for (let k = s; k < end; k++) {
    const c = b[k]!;
    if (c < ZERO || c > NINE) fail();
    v = v * 10 + (c - ZERO);
  }
  if (n <= 15) return BigInt(v);
  const big = BigInt(textOf(s, end));
  if (big > U64_MAX) fail();
  return big;
}

const TOP = 0;
const RESOURCE = 1;
const CPU = 2;
const MEMORY = 3;

/** Reads the fields of one of the sample's objects (TOP, RESOURCE, CPU, MEMORY) until it closes. */
function object(which: number): void {
  expect(OPEN);
  skipSpace();
  if (b[i] === CLOSE) {
    i += 1;
    return;
  }
  for (;;) {
    const key = asciiString();
    expect(COLON);
    switch (which) {
      case TOP:
        topField(key);
        break;
      case RESOURCE:
        resourceField(key);
        break;
      case CPU:
        cpuField(key);
        break;
      default:
        memoryField(key);
    }
    skipSpace();
    const c = b[i];
    i += 1;
    if (c === CLOSE) return;
    if (c !== COMMA) fail();
  }
}

/** Marks a key seen in `mask`; a key seen twice (JSON.parse keeps the last) is not taken here. */
function once(mask: number, bit: number): number {
  if ((mask & bit) !== 0) fail();
  return mask | bit;
}

// What the sample says, as it is read (module state: the reader is not reentrant).
let topKeys = 0;
let resourceKeys = 0;
let cpuKeys = 0;
let memoryKeys = 0;
let kind: 'container' | 'vm' = 'container';
let lifecycle: 'start' | 'running' | 'final' = 'running';
let host = '';
let resourceId = '';
let name = '';
let image: string | null = null;
let flavour: string | null = null;
let tenantId = '';
let instanceId = '';
let startedAtMs = 0;
let observedAtMs = 0;
let intervalMs: number | null = null;
let thinned = 0;
let cpuUsageNs = 0n;
let cores: number | null = null;
let hostCores: number | null = null;
let memoryUsageBytes = 0;
let memoryAllocationBytes: number | null = null;

/**
 * The MeteredSample of a sample's bytes when they are of the shape collectors publish, and it is
 * valid; null when the contract's decoder must judge them (see above). Not reentrant.
 */
export function decodeSampleBytes(bytes: Uint8Array): MeteredSample | null {
  b = bytes;
  i = 0;
  try {
    return readSample();
  } catch (e) {
    if (e === NOT_FAST) return null;
    throw e;
  } finally {
    b = EMPTY;
  }
}
function readSample(): MeteredSample {
  topKeys = resourceKeys = cpuKeys = memoryKeys = 0;
  image = flavour = null;
  intervalMs = hostCores = cores = memoryAllocationBytes = null;
  thinned = 0;
  object(TOP);
  skipSpace();
  // Required: schema … memory (bits 1–256); resource: kind, id, name, tenantId, instanceId,
  // startedAt (1–32); cpu: usageNs, allocationCores; memory: both.
  if (i !== b.length || (topKeys & 511) !== 511 || (resourceKeys & 63) !== 63) fail();
  if ((cpuKeys & 3) !== 3 || memoryKeys !== 3) fail();
  // The contract's refinement: a reading from before the instance started is refused.
  if (observedAtMs < startedAtMs) fail();
  return {
    tenantId,
    resourceKind: kind,
    resourceId,
    instanceId,
    host,
    name,
    image,
    flavour,
    startedAtMs,
    observedAtMs,
    lifecycle,
    cpuUsageNs,
    memoryUsageBytes: BigInt(memoryUsageBytes),
    cpuAllocationCores: coresToDecimal(cores),
    memoryAllocationBytes: memoryAllocationBytes === null ? null : BigInt(memoryAllocationBytes),
    hostCores,
    intervalMs,
    thinned,
    inferredDetectedAtMs: null,
  };
}

function topField(k: number): void {
  if (bytesAre(k, 'schema')) {
    topKeys = once(topKeys, 1);
    const s = asciiString();
    if (!bytesAre(s, SCHEMA_VERSIONS.sample)) fail();
  } else if (bytesAre(k, 'sampleId')) {
    topKeys = once(topKeys, 2);
    text(L.idBytes, false);
  } else if (bytesAre(k, 'source')) {
    topKeys = once(topKeys, 4);
    const s = asciiString();
    if (!bytesAre(s, 'docker') && !bytesAre(s, 'libvirt')) fail();
  } else if (bytesAre(k, 'host')) {
    topKeys = once(topKeys, 8);
    host = stringOf(text(L.hostBytes, false), end);
  } else if (bytesAre(k, 'resource')) {
    topKeys = once(topKeys, 16);
    object(RESOURCE);
  } else if (bytesAre(k, 'observedAt')) {
    topKeys = once(topKeys, 32);
    observedAtMs = timestamp();
  } else if (bytesAre(k, 'lifecycle')) {
    topKeys = once(topKeys, 64);
    const s = asciiString();
    if (bytesAre(s, 'running')) lifecycle = 'running';
    else if (bytesAre(s, 'start')) lifecycle = 'start';
    else if (bytesAre(s, 'final')) lifecycle = 'final';
    else fail();
  } else if (bytesAre(k, 'cpu')) {
    topKeys = once(topKeys, 128);
    object(CPU);
  } else if (bytesAre(k, 'memory')) {
    topKeys = once(topKeys, 256);
    object(MEMORY);
  } else if (bytesAre(k, 'sequence')) {
    topKeys = once(topKeys, 512);
    if (safeInteger() > L.maxSequence) fail();
  } else if (bytesAre(k, 'intervalMs')) {
    topKeys = once(topKeys, 1024);
    intervalMs = safeInteger();
    if (intervalMs < 1 || intervalMs > L.maxIntervalMs) fail();
  } else if (bytesAre(k, 'thinned')) {
    topKeys = once(topKeys, 2048);
    thinned = safeInteger();
    if (thinned > L.maxThinned) fail();
  } else fail(); // `inferred` (rare) and unknown keys: the contract's decoder
}

function resourceField(k: number): void {
  if (bytesAre(k, 'kind')) {
    resourceKeys = once(resourceKeys, 1);
    const s = asciiString();
    if (bytesAre(s, 'container')) kind = 'container';
    else if (bytesAre(s, 'vm')) kind = 'vm';
    else fail();
  } else if (bytesAre(k, 'id')) {
    resourceKeys = once(resourceKeys, 2);
    resourceId = stringOf(text(L.idBytes, false), end);
  } else if (bytesAre(k, 'name')) {
    resourceKeys = once(resourceKeys, 4);
    name = stringOf(text(L.nameBytes, true), end);
  } else if (bytesAre(k, 'tenantId')) {
    resourceKeys = once(resourceKeys, 8);
    tenantId = stringOf(text(L.tenantIdBytes, false), end);
  } else if (bytesAre(k, 'instanceId')) {
    resourceKeys = once(resourceKeys, 16);
    instanceId = stringOf(text(L.idBytes, false), end);
  } else if (bytesAre(k, 'startedAt')) {
    resourceKeys = once(resourceKeys, 32);
    startedAtMs = timestamp();
  } else if (bytesAre(k, 'image')) {
    resourceKeys = once(resourceKeys, 64);
    image = stringOf(text(L.imageBytes, false), end);
  } else if (bytesAre(k, 'flavour')) {
    resourceKeys = once(resourceKeys, 128);
    flavour = stringOf(text(L.flavourBytes, false), end);
  } else fail();
}

function cpuField(k: number): void {
  if (bytesAre(k, 'usageNs')) {
    cpuKeys = once(cpuKeys, 1);
    cpuUsageNs = u64();
  } else if (bytesAre(k, 'allocationCores')) {
    cpuKeys = once(cpuKeys, 2);
    if (!isNull()) {
      cores = decimal();
      if (cores < L.minAllocationCores || cores > L.maxAllocationCores) fail();
    }
  } else if (bytesAre(k, 'hostCores')) {
    cpuKeys = once(cpuKeys, 4);
    hostCores = safeInteger();
    if (hostCores < 1 || hostCores > L.maxHostCores) fail();
  } else fail();
}

function memoryField(k: number): void {
  if (bytesAre(k, 'usageBytes')) {
    memoryKeys = once(memoryKeys, 1);
    memoryUsageBytes = safeInteger();
  } else if (bytesAre(k, 'allocationBytes')) {
    memoryKeys = once(memoryKeys, 2);
    if (!isNull()) {
      memoryAllocationBytes = safeInteger();
      if (memoryAllocationBytes === 0) fail();
    }
  } else fail();
}

/**
 * bytes[start, stop) as a string, from the reader's table of strings already seen when it is
 * there (a known id makes none): the bytes must be printable ASCII (one byte a character).
 */
export function internedText(bytes: Uint8Array, start: number, stop: number): string {
  try {
    b = bytes;
    return stringOf(start, stop);
  } finally {
    b = EMPTY;
  }
}
