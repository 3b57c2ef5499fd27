/**
 * The rule a production secret (admin key, Kafka SASL password, InfluxDB password or token)
 * must pass at boot. It cannot prove a secret is random; it refuses what is certainly not:
 *
 * - a known placeholder: after lowercasing and dropping everything but letters and digits, the
 *   value contains one of PLACEHOLDER_MARKERS (the k8s base ships `PLACEHOLDER-replace-me-…`,
 *   examples write `change-me`);
 * - fewer than MIN_SECRET_LENGTH characters (Unicode code points): 32 hex digits are 128 bits;
 * - fewer than MIN_DISTINCT_CHARACTERS distinct characters (`aaaa…`, `abab…`, `12341234…`);
 * - an empirical Shannon entropy below MIN_BITS_PER_CHARACTER bits per character. 32 random hex
 *   digits measure about 3.6 and fall below 3.0 with a probability far under 1e-6; `openssl rand
 *   -hex 32` and `-base64 32` measure 3.8 to 5; repeated words measure below 3.
 *
 * Pure, so both the rule and its refusals are unit-tested; the messages never contain the value.
 */
export const MIN_SECRET_LENGTH = 32;
export const MIN_DISTINCT_CHARACTERS = 10;
export const MIN_BITS_PER_CHARACTER = 3;
export const PLACEHOLDER_MARKERS = [
  'placeholder',
  'changeme',
  'replaceme',
  'changeit',
  'example',
  'password',
  'secret',
  'default',
  'testonly',
  'dummy',
  'insecure',
  'xxxxxx',
] as const;

/** Why `value` is refused as a production secret, or null when it passes. Never echoes it. */
export function secretWeakness(value: string): string | null {
  const normalised = value.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  if (PLACEHOLDER_MARKERS.some((marker) => normalised.includes(marker))) {
    return 'is a known placeholder (it contains a marker word listed in PLACEHOLDER_MARKERS)';
  }
  const characters = Array.from(value);
  if (characters.length < MIN_SECRET_LENGTH) {
    return `is shorter than ${MIN_SECRET_LENGTH} characters (${characters.length})`;
  }
  const counts = new Map<string, number>();
  for (const c of characters) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (counts.size < MIN_DISTINCT_CHARACTERS) {
    return `has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters (${counts.size})`;
  }
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    bits -= p * Math.log2(p);
  }
  if (bits < MIN_BITS_PER_CHARACTER) {
    return `is low-entropy (${bits.toFixed(2)} bits per character, at least ${MIN_BITS_PER_CHARACTER} required)`;
  }
  return null;
}
