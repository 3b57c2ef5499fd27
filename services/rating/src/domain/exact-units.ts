/**
 * Exact integer units for the rating hot path. Every quantity rating computes is an exact decimal
 * with a bounded number of places, so it is held as a bigint count of a small unit and converted to
 * a decimal string (or a libs/money Decimal) only at the edges: the ledger, events, InfluxDB.
 * Integer addition and multiplication are exact and far cheaper than arbitrary-precision decimals,
 * which matters at tens of thousands of samples per second.
 *
 * - CPU: 1 unit = 10^-12 core-second. Usage arrives in nanoseconds (× 1000); an allocation in cores
 *   with at most 9 places (nano-cores) times milliseconds is also a whole number of units.
 * - Memory: 1 unit = 10^-3 byte-second (bytes × milliseconds).
 * - Money: 1 unit = 10^-20 of the currency (see graduated-table.ts for why 20 places).
 */
export type CpuUnits = bigint;
export type MemoryUnits = bigint;
export type AmountUnits = bigint;

export const CPU_SCALE = 12;
export const MEMORY_SCALE = 3;
export const AMOUNT_SCALE = 20;
export const CPU_UNITS_PER_CORE_SECOND = 10n ** 12n;
export const MEMORY_UNITS_PER_BYTE_SECOND = 1000n;
/** 2^30 bytes: one GiB. Dividing by it is exact in decimal: x / 2^30 = x × 5^30 / 10^30. */
export const BYTES_PER_GIB = 1n << 30n;
const FIVE_POW_30 = 5n ** 30n;
/** Places of a GiB-second figure derived from memory units: 3 + 30. */
export const GIB_SECONDS_SCALE = MEMORY_SCALE + 30;

/** `value / 10^scale` as a plain decimal string without trailing zeros ("1.5", "0", "-0.25"). */
export function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  if (scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.length <= scale ? '0'.repeat(scale - digits.length + 1) + digits : digits;
  const whole = padded.slice(0, padded.length - scale);
  let fraction = padded.slice(padded.length - scale);
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  const text = fraction.length === 0 ? whole : `${whole}.${fraction}`;
  return negative && text !== '0' ? `-${text}` : text;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export class ScaleError extends Error {
  readonly code = 'SCALE_EXCEEDED';
}

/**
 * A plain decimal string as a count of 10^-scale units. Throws when the text has more places
 * than the scale holds (that would lose value) or is not a plain decimal.
 */
export function parseScaled(text: string, scale: number): bigint {
  const m = DECIMAL.exec(text);
  if (m === null) throw new ScaleError(`"${text}" is not a plain decimal`);
  let fraction = m[3] ?? '';
  // Trailing zeros (NUMERIC prints its own scale) carry no value.
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  fraction = fraction.slice(0, end);
  if (fraction.length > scale) {
    throw new ScaleError(`"${text}" has more than ${scale} decimal places`);
  }
  const units = BigInt((m[2] ?? '0') + fraction.padEnd(scale, '0'));
  return m[1] === '-' ? -units : units;
}

const nanoCoreCache = new Map<string, bigint>();

/** Cores as a decimal string with at most 9 places ("0.5") → nano-cores (500000000n). */
export function nanoCores(cores: string): bigint {
  let n = nanoCoreCache.get(cores);
  if (n === undefined) {
    n = parseScaled(cores, 9);
    if (nanoCoreCache.size > 10_000) nanoCoreCache.clear();
    nanoCoreCache.set(cores, n);
  }
  return n;
}

export const coreSeconds = (units: CpuUnits): string => formatScaled(units, CPU_SCALE);
export const byteSeconds = (units: MemoryUnits): string => formatScaled(units, MEMORY_SCALE);
export const gibSeconds = (units: MemoryUnits): string =>
  formatScaled(units * FIVE_POW_30, GIB_SECONDS_SCALE);
export const amount = (units: AmountUnits): string => formatScaled(units, AMOUNT_SCALE);

export const cpuUnitsOfCoreSeconds = (text: string): CpuUnits => parseScaled(text, CPU_SCALE);
export const amountUnitsOf = (text: string): AmountUnits => parseScaled(text, AMOUNT_SCALE);
export const memoryUnitsOfByteSeconds = (text: string): MemoryUnits =>
  parseScaled(text, MEMORY_SCALE);

/** GiB-seconds (as printed by `gibSeconds`) back to memory units; exact or it throws. */
export function memoryUnitsOfGibSeconds(text: string): MemoryUnits {
  const scaled = parseScaled(text, GIB_SECONDS_SCALE);
  if (scaled % FIVE_POW_30 !== 0n) {
    throw new ScaleError(`"${text}" GiB-seconds is not a whole number of milli-byte-seconds`);
  }
  return scaled / FIVE_POW_30;
}

export const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);
