import { CgroupReadError } from './cgroup.errors';

// The values of cgroup files, parsed from their text or, without a string, from their bytes
// (the same answers: memory-stat.spec.ts, file-bytes.spec.ts).

/** A file holding one non-negative integer (cpuacct.usage, memory.usage_in_bytes). */
export function parseBigInt(text: string, where: string): bigint {
  const t = text.trim();
  if (!/^\d+$/.test(t))
    throw new CgroupReadError(where, `expected a non-negative integer, got "${t}"`);
  return BigInt(t);
}

/**
 * parseBigInt of the bytes' text, without the text when it is plain ASCII digits between blanks
 * (file-bytes.spec.ts holds the two equal); anything else goes through the text.
 */
export function parseBigIntBytes(data: Buffer, where: string): bigint {
  let s = 0;
  let e = data.length;
  while (s < e && isBlankByte(data[s]!)) s++;
  while (e > s && isBlankByte(data[e - 1]!)) e--;
  // Up to 15 digits a double holds exactly.
  if (e === s || e - s > 15) return parseBigInt(data.toString('utf8'), where);
  let value = 0;
  for (let i = s; i < e; i++) {
    const c = data[i]! - 0x30;
    if (c < 0 || c > 9) return parseBigInt(data.toString('utf8'), where);
    value = value * 10 + c;
  }
  return BigInt(value);
}

/**
 * One value of a "key value" file (memory.stat has ~40 lines; only one is needed, and this
 * runs for every container every cycle). Undefined when absent or not a number.
 */
export function flatKeyedValue(text: string, key: string): bigint | undefined {
  let from = 0;
  for (;;) {
    const at = text.indexOf(key, from);
    if (at < 0) return undefined;
    const end = at + key.length;
    if ((at === 0 || text[at - 1] === '\n') && (text[end] === ' ' || text[end] === '\t')) {
      const newline = text.indexOf('\n', end);
      const value = text.slice(end + 1, newline < 0 ? undefined : newline).trim();
      return /^\d+$/.test(value) ? BigInt(value) : undefined;
    }
    from = end;
  }
}

const KEY_BYTES = new Map<string, Buffer>();

export function keyBytes(key: string): Buffer {
  let bytes = KEY_BYTES.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(key, 'latin1');
    KEY_BYTES.set(key, bytes);
  }
  return bytes;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;

/** flatKeyedValue over bytes: the same answers (memory-stat.spec.ts), without a string. */
export function flatKeyedBytes(data: Buffer, key: Buffer): bigint | undefined {
  let from = 0;
  for (;;) {
    const at = data.indexOf(key, from);
    if (at < 0) return undefined;
    const end = at + key.length;
    const after = data[end];
    if ((at === 0 || data[at - 1] === NEWLINE) && (after === SPACE || after === TAB)) {
      const newline = data.indexOf(NEWLINE, end);
      let s = end + 1;
      let e = newline < 0 ? data.length : newline;
      // trim(): the whitespace a line may have around its value.
      while (s < e && isBlankByte(data[s]!)) s++;
      while (e > s && isBlankByte(data[e - 1]!)) e--;
      if (s === e) return undefined;
      let small = 0;
      for (let i = s; i < e; i++) {
        const c = data[i]! - 0x30;
        if (c < 0 || c > 9) {
          // Not ASCII: what the text's own trim() makes of it is the text's answer.
          return data[i]! >= 0x80
            ? flatKeyedValue(data.toString('utf8'), key.toString('latin1'))
            : undefined;
        }
        small = small * 10 + c;
      }
      // Up to 15 digits a double holds exactly; beyond, the digits themselves.
      return e - s <= 15 ? BigInt(small) : BigInt(data.toString('latin1', s, e));
    }
    from = end;
  }
}

export function isBlankByte(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === NEWLINE || c === 0x0b || c === 0x0c;
}
