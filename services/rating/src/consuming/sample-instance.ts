import { SAMPLE_LIMITS } from '@metering/contracts';
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
  if (key === null || value === null) return false;
  const at = value.indexOf(INSTANCE_ID_KEY);
  if (at < 0) return false;
  const from = at + INSTANCE_ID_KEY.length;
  const to = printableUntilQuote(value, from);
  if (to < 0 || to === from || to - from > SAMPLE_LIMITS.idBytes) return false;
  if (key.length === 0 || key.length > SAMPLE_LIMITS.idBytes) return false;
  if (printableUntilQuote(key, 0, true) < 0) return false;
  const resourceId = internedText(key, 0, key.length);
  const instanceId = internedText(value, from, to);
  let instances = named.get(resourceId);
  if (instances === undefined) named.set(resourceId, (instances = new Set<string>()));
  instances.add(instanceId);
  return true;
}

/**
 * Where the printable ASCII from `from` ends at a quote (its index), or -1 at an escape, a
 * control or non-ASCII byte, or the end; `whole`: all of `bytes` must be such (returns its length).
 */
function printableUntilQuote(bytes: Uint8Array, from: number, whole = false): number {
  const n = bytes.length;
  for (let k = from; k < n; k++) {
    const c = bytes[k]!;
    if (c === QUOTE) return whole ? -1 : k;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return whole ? n : -1;
}
