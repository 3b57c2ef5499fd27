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
