import { z } from 'zod';

// Building blocks shared by the event schemas. Custom messages are phrased to follow a field
// path ("cpu.usageNs: must be ..."), see issue-message.ts.

export const nonEmptyString = z.string().min(1);

/** C0 and C1 control characters and DEL: never part of an id or a name. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
/** A UTF-16 surrogate without its pair: not a Unicode string, and not storable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string holds no control character and no unpaired surrogate. */
export function isPrintableText(value: string): boolean {
  return !CONTROL.test(value) && !LONE_SURROGATE.test(value);
}

/** Bytes of the string in UTF-8 (unpaired surrogates count 3, as their replacement would). */
export function utf8ByteLength(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Text bounded in UTF-8 bytes, without control characters or unpaired surrogates: ids become
 * btree keys and InfluxDB tags (a NUL is refused by PostgreSQL, a key over ~2.7 kB by its index),
 * names are printed on invoices.
 */
export function boundedText(maxBytes: number, options: { allowEmpty?: boolean } = {}) {
  const base = options.allowEmpty === true ? z.string() : z.string().min(1);
  return base
    .refine(isPrintableText, {
      error:
        'must not contain control characters (U+0000-U+001F, U+007F-U+009F) or unpaired surrogates',
    })
    .refine((value) => utf8ByteLength(value) <= maxBytes, {
      error: `must be at most ${maxBytes} bytes of UTF-8`,
    });
}

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
