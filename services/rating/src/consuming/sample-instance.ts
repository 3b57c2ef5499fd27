import { SAMPLE_LIMITS } from '@metering/contracts';
import { type RecordParts } from '@metering/kafka';
import { internedText } from './sample-bytes';

const INSTANCE_ID_KEY = Buffer.from('"instanceId":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Names the instance a message's sample is about without decoding it — its resource id the Kafka
 * key's bytes, its instance id the string after the first `"instanceId":"` of the value — into
 * `named` (resource id → instance ids; the strings interned with the byte reader's, so a known
 * instance makes none). A guess for loading states before the batch is decoded (the processor's
 * streaming fold), not a judgement: the decoder says what the sample is about, and a sample whose
 * instance was not named sends its batch down the exact path. false, naming nothing, when either
 * id is not printable ASCII without escapes within the contract's bound (the caller decodes the
 * message).
 */
export function nameInstance(
  key: Buffer | null,
  value: Buffer | null,
  named: Map<string, Set<string>>,
): boolean {
  const resourceId = resourceOf(key);
  return resourceId !== null && value !== null && nameFirst(resourceId, value, named) !== null;
}

/**
 * nameInstance with a memory: where each resource's last message had its `"instanceId":"`, and
 * what followed it. A collector writes a resource's samples in one layout (the fields before it
 * keep their lengths), so the next message of the resource is tried there first — its bytes
 * compared with the remembered name, no search and no new string — and searched as nameInstance
 * does when they differ. Either way a guess the decoder checks (decodeEach): a message whose
 * remembered place still holds the remembered name while an earlier `"instanceId":"` names
 * another instance is named as remembered; JSON.parse would keep the last of repeated keys anyway.
 * At most MAX_REMEMBERED resources are kept; past that it starts over.
 */
export class InstanceNamer {
  private readonly last = new Map<string, { at: number; instanceId: string }>();

  name(key: Buffer | null, value: Buffer | null, named: Map<string, Set<string>>): boolean {
    const resourceId = resourceOf(key);
    if (resourceId === null || value === null) return false;
    const last = this.last.get(resourceId);
    if (last !== undefined && holdsName(value, 0, value.length, last.at, last.instanceId)) {
      addNamed(named, resourceId, last.instanceId);
      return true;
    }
    return this.search(resourceId, value, named, last);
  }

  /**
   * name() on a message's parts (libs/kafka's messageParts: ranges of the bytes the record came
   * in): a remembered name is compared where it was, within the value's range, without the views
   * `key` and `value` make; only a search makes one, over the value.
   */
  nameParts(parts: Readonly<RecordParts>, named: Map<string, Set<string>>): boolean {
    const { bytes, keyStart, keyEnd, valueStart, valueEnd } = parts;
    if (keyStart < 0 || valueStart < 0) return false;
    const resourceId = resourceIn(bytes, keyStart, keyEnd);
    if (resourceId === null) return false;
    const last = this.last.get(resourceId);
    if (last !== undefined && holdsName(bytes, valueStart, valueEnd, last.at, last.instanceId)) {
      addNamed(named, resourceId, last.instanceId);
      return true;
    }
    const value = Buffer.from(bytes.buffer, bytes.byteOffset + valueStart, valueEnd - valueStart);
    return this.search(resourceId, value, named, last);
  }

  private search(
    resourceId: string,
    value: Buffer,
    named: Map<string, Set<string>>,
    last: { at: number; instanceId: string } | undefined,
  ): boolean {
    const found = nameFirst(resourceId, value, named);
    if (found === null) return false;
    if (last === undefined && this.last.size >= MAX_REMEMBERED) this.last.clear();
    this.last.set(resourceId, found);
    return true;
  }
}

/** Resources whose last name InstanceNamer keeps (a few MB at most). */
export const MAX_REMEMBERED = 65_536;

/** The resource id a Kafka key names: printable ASCII without escapes within the bound. */
function resourceOf(key: Buffer | null): string | null {
  return key === null ? null : resourceIn(key, 0, key.length);
}

/** resourceOf for the key in bytes[start, end). */
function resourceIn(bytes: Uint8Array, start: number, end: number): string | null {
  const length = end - start;
  if (length <= 0 || length > SAMPLE_LIMITS.idBytes) return null;
  if (printableUntilQuote(bytes, start, end, true) < 0) return null;
  return internedText(bytes, start, end);
}

/**
 * Names the instance after the first `"instanceId":"` of `value` for `resourceId` into `named`, and
 * returns it with where that key began; null (nothing named) when the id is not printable ASCII
 * without escapes within the bound.
 */
function nameFirst(
  resourceId: string,
  value: Buffer,
  named: Map<string, Set<string>>,
): { at: number; instanceId: string } | null {
  const at = value.indexOf(INSTANCE_ID_KEY);
  if (at < 0) return null;
  const from = at + INSTANCE_ID_KEY.length;
  const to = printableUntilQuote(value, from, value.length);
  if (to < 0 || to === from || to - from > SAMPLE_LIMITS.idBytes) return null;
  const instanceId = internedText(value, from, to);
  addNamed(named, resourceId, instanceId);
  return { at, instanceId };
}

/**
 * Whether the value in bytes[start, stop) holds `"instanceId":"<instanceId>"` at `at` (from the
 * value's start).
 */
function holdsName(
  bytes: Uint8Array,
  start: number,
  stop: number,
  at: number,
  instanceId: string,
): boolean {
  const key = start + at;
  const from = key + INSTANCE_ID_KEY.length;
  const end = from + instanceId.length;
  if (end >= stop) return false;
  for (let k = 0; k < INSTANCE_ID_KEY.length; k++)
    if (bytes[key + k] !== INSTANCE_ID_KEY[k]) return false;
  for (let k = 0; k < instanceId.length; k++)
    if (bytes[from + k] !== instanceId.charCodeAt(k)) return false;
  return bytes[end] === QUOTE;
}

/** Adds the instance to `named` (resource id → instance ids). */
export function addNamed(
  named: Map<string, Set<string>>,
  resourceId: string,
  instanceId: string,
): void {
  let instances = named.get(resourceId);
  if (instances === undefined) named.set(resourceId, (instances = new Set<string>()));
  instances.add(instanceId);
}

/**
 * Where the printable ASCII from `from` ends at a quote (its index), or -1 at an escape, a
 * control or non-ASCII byte, or `end`; `whole`: all of bytes[from, end) must be such (returns end).
 */
function printableUntilQuote(bytes: Uint8Array, from: number, end: number, whole = false): number {
  const n = end;
  for (let k = from; k < n; k++) {
    const c = bytes[k]!;
    if (c === QUOTE) return whole ? -1 : k;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return whole ? n : -1;
}
