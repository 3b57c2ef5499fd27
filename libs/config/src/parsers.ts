import { z } from 'zod';

/**
 * A whole number from a string, between min and max: digits only (after trimming), so `1e3`,
 * `+5`, `0x10`, `1.5`, `NaN` and `Infinity` are refused rather than read as something else.
 */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** A duration in whole milliseconds (the `*_MS` settings), between min and max. */
export function durationMs(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number of milliseconds')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

const TRUE = ['true', '1', 'yes', 'on'] as const;
const FALSE = ['false', '0', 'no', 'off'] as const;

/** A switch: true/false, 1/0, yes/no or on/off, in any case. */
export function boolean() {
  return z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum([...TRUE, ...FALSE]))
    .transform((v) => (TRUE as readonly string[]).includes(v));
}

/** A comma-separated list, each item trimmed, empty items dropped. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
