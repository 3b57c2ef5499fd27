/**
 * The decoders' tables of names already seen (sample.mapper.ts, sample-bytes.ts): a map of
 * strings bounded by entries and by characters in all, started over when either is reached, so a
 * producer of endless distinct names (each up to 512 bytes) cannot grow it past a few MB.
 */
export class BoundedStrings<K> {
  private readonly map = new Map<K, string>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(key: K): string | undefined {
    return this.map.get(key);
  }

  set(key: K, text: string): void {
    if (this.map.size >= this.maxEntries || this.chars >= this.maxChars) {
      this.map.clear();
      this.chars = 0;
    }
    this.map.set(key, text);
    this.chars += text.length;
  }

  get size(): number {
    return this.map.size;
  }
}
