/**
 * Kafka offsets are int64, carried as decimal strings (as kafkajs does) because a number
 * loses precision past 2^53.
 */

/** The offset to resume from after processing `offset`: offset + 1. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

export function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Whether a string is a valid non-negative offset. */
export function isOffset(value: string): boolean {
  return /^\d{1,19}$/.test(value) && BigInt(value) <= 9_223_372_036_854_775_807n;
}
