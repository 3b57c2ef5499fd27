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
  return smallInteger(data, 0, data.length) ?? parseBigInt(data.toString('utf8'), where);
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
      // Anything but a few plain digits (none, other characters, more digits than a double holds
      // exactly): the text's answer.
      return (
        smallInteger(data, end + 1, newline < 0 ? data.length : newline) ??
        flatKeyedValue(data.toString('utf8'), key.toString('latin1'))
      );
    }
    from = end;
  }
}

/**
 * data[s, e) less the blanks around it (trim()'s ASCII ones), as an integer when it is 1 to 15
 * ASCII digits (what a double holds exactly); null for anything else, which the caller parses
 * from the text.
 */
function smallInteger(data: Buffer, s: number, e: number): bigint | null {
  while (s < e && isBlankByte(data[s]!)) s++;
  while (e > s && isBlankByte(data[e - 1]!)) e--;
  if (e === s || e - s > 15) return null;
  let value = 0;
  for (let i = s; i < e; i++) {
    const c = data[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    value = value * 10 + c;
  }
  return BigInt(value);
}

export function isBlankByte(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === NEWLINE || c === 0x0b || c === 0x0c;
}
