import fc from 'fast-check';

/**
 * The fuzzer's values: hostile text (controls, lone surrogates, exotic scripts, URL syntax, long
 * strings), wrong JSON types, and how text goes into a URL.
 */
export const controls = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u009f',
);
export const loneSurrogates = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
export const exotic = fc.constantFrom(
  '👻',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\u00a0',
  'e\u0301',
  'İ',
  'ß',
  'Ⅻ',
  '２０２５-１１',
  '%',
  '%00',
  '%ZZ',
  '/',
  '\\',
  '?',
  '#',
  '&',
  '=',
  '+',
  ' ',
  '"',
  "'",
  '<script>',
  "'; DROP TABLE tenant; --",
  '${x}',
  '__proto__',
  'constructor',
  '2025-11',
  '2025-02-31T00:00:00Z',
  '2025-11-01T24:00:00Z',
  '0001-01',
  '9999-12',
  '1e400',
  '-0',
  'NaN',
  'Infinity',
  '9'.repeat(60),
  'acme',
  'Acme',
);
export const long = fc.constantFrom(300, 5_000, 70_000).map((n) => 'x'.repeat(n));
/** Text that no field of the API may hold: it must be a 400 naming the field. */
export const forbiddenText = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.oneof(controls, loneSurrogates),
    fc.string({ maxLength: 8 }),
  )
  .map(([a, b, c]) => a + b + c);
export const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  exotic,
  forbiddenText,
  long,
);
export const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2),
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(text, text, { maxKeys: 3 }),
);
export const jsonValue = fc.oneof(text, wrongType);

/**
 * Percent-encodes text for a URL as a client would, except that a lone surrogate (which has no
 * UTF-8 form) goes out as the three bytes of its CESU-8 form, which is not UTF-8.
 */
export function encodeUrlText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      // '.' too: "." and ".." segments would be resolved away by the URL parser.
      out += encodeURIComponent(s[i] ?? '').replace(/\./g, '%2E');
    }
  }
  return out;
}

export const hasLoneSurrogate = (s: string): boolean =>
  /[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
