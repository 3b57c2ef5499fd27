/**
 * The rule a production secret (admin key, Kafka SASL password, InfluxDB password or token)
 * must pass at boot. It cannot prove a secret is random; it refuses what is certainly not:
 *
 * - a known placeholder: after lowercasing and dropping everything but letters and digits, the
 *   value contains one of PLACEHOLDER_MARKERS (the k8s base ships `PLACEHOLDER-replace-me-…`,
 *   examples write `change-me`);
 * - fewer than MIN_SECRET_LENGTH characters (Unicode code points): 32 hex digits are 128 bits;
 * - fewer than MIN_DISTINCT_CHARACTERS distinct characters (`aaaa…`, `abab…`, `abcabc…`);
 * - an empirical Shannon entropy below MIN_BITS_PER_CHARACTER bits per character (one character
 *   dominating: `kkkk…kabcdefghij` measures 1.1).
 *
 * The thresholds are set so the weakest random key accepted (`openssl rand -hex 16`: 32 hex
 * digits, 128 bits) is never refused: in 10^6 such keys the fewest distinct characters was 8 and
 * the lowest entropy 2.79 bits per character (a first try at 10 and 3.0 refused 1.5 in 10^4).
 * It does not catch a repeated phrase of many characters (`qwertyuiop…` measures 3.3): it stops
 * the mistakes that happen, not a determined bad choice.
 *
 * Pure, so both the rule and its refusals are unit-tested; the messages never contain the value.
 */
export const MIN_SECRET_LENGTH = 32;
export const MIN_DISTINCT_CHARACTERS = 6;
export const MIN_BITS_PER_CHARACTER = 2.5;
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
