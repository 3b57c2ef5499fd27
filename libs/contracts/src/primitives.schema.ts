import { z } from 'zod';

// Building blocks shared by the event schemas. Custom messages are phrased to follow a field
// path ("cpu.usageNs: must be ..."), see issue-message.ts.

export const nonEmptyString = z.string().min(1);

/** ISO-8601 date-time with seconds and an explicit zone (Z or ±hh:mm); real calendar dates. */
export const timestamp = z.iso.datetime({
  offset: true,
  error: formatError(
    'must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-26T13:00:10.000Z',
  ),
});

const U64_MAX = 2n ** 64n - 1n;
const U64_DIGITS = /^\d{1,20}$/;

/**
 * A cumulative counter as a decimal string. Strings, because nanosecond counters exceed 2^53
 * within days on a busy host and a JS number would silently lose the low digits. Bounded by
 * u64, the type cgroups and libvirt report it in.
 */
export const u64DecimalString = z
  .string()
  .regex(U64_DIGITS, { error: 'must be a non-negative integer decimal string, e.g. "1500000000"' })
  // zod runs refinements even after the regex failed; BigInt would throw on non-digits.
  .refine((value) => !U64_DIGITS.test(value) || BigInt(value) <= U64_MAX, {
    error: 'must not exceed 2^64-1',
  });

/** A non-negative plain decimal (no sign, no exponent), as libs/money prints them. */
export const nonNegativeDecimalString = z
  .string()
  .regex(/^\d+(?:\.\d+)?$/, { error: 'must be a non-negative decimal string, e.g. "12.5"' });

/** Upper-case ISO 4217 shape; whether the currency is known is libs/money's business. */
export const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 currency code, e.g. "EUR"' });

export const nonNegativeInt = z.number().int().nonnegative();
export const positiveInt = z.number().int().positive();

/** Kafka offsets are int64: decimal strings, as kafkajs hands them over. */
export const kafkaOffset = z
  .string()
  .regex(/^\d{1,19}$/, { error: 'must be a non-negative integer decimal string' });

export const base64 = z.base64({ error: formatError('must be base64') });

// On a string-format schema an error string would also replace "is required" and "must be a
// string"; only the format failure gets the custom text.
function formatError(message: string): (issue: { code: string }) => string | undefined {
  return (issue) => (issue.code === 'invalid_format' ? message : undefined);
}
