const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * An array of plain decimal numbers (or nulls) as a PostgreSQL array literal, `{1.5,NULL,-2}`:
 * such elements need no quoting, which spares the driver escaping each one (thousands per
 * batch). Anything else is refused rather than sent unescaped.
 */
export function plainArray(values: readonly (string | null)[]): string {
  for (const v of values) {
    if (v !== null && !PLAIN_NUMBER.test(v)) throw new RangeError(`not a plain number: ${v}`);
  }
  return `{${values.map((v) => v ?? 'NULL').join(',')}}`;
}

const NEEDS_ESCAPE = /[\\"]/;
const ESCAPED = /[\\"]/g;

/**
 * An array of texts (or nulls) as the PostgreSQL array literal the driver would send for it
 * (`{"a","b\"c",NULL}`: each element quoted, backslash and quote escaped), built as one flat
 * string: the driver escapes every element with two regular expressions and grows the literal one
 * element at a time, which a batch of ten thousand rows pays for in every text column.
 * pg-arrays.spec.ts holds it to the driver's own encoding.
 */
export function textArray(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) parts[i] = 'NULL';
    else if (NEEDS_ESCAPE.test(v)) parts[i] = `"${v.replace(ESCAPED, '\\$&')}"`;
    else parts[i] = `"${v}"`;
  }
  return `{${parts.join(',')}}`;
}
