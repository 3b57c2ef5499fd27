import { minorUnitsOf } from '@metering/money';
import { type InvoiceAssets } from '../invoice-assets';
import { WIN_ANSI } from './pdf-layout';

/** Amounts, numbers and dates in one locale; amounts pass as exact decimal strings. */
export interface Formatter {
  money(amount: string): string;
  number(value: string): string;
  percent(ratio: string): string;
  date(day: string): string;
}

const formatters = new Map<string, Formatter>();

/** Whether the Unicode font has a glyph for every character of `text`. */
export function printable(assets: InvoiceAssets): (text: string) => boolean {
  const font = assets.font.font;
  return (text) => [...text].every((c) => font.hasGlyphForCodePoint(c.codePointAt(0) ?? 0));
}

/**
 * Formatters are costly to build (ICU data) and immutable: one per locale and currency (the
 * process has one Unicode font, so whether a symbol prints does not change).
 */
export function formatterFor(
  locale: string,
  currency: string,
  canPrint: (text: string) => boolean = () => true,
): Formatter {
  const key = `${locale}\u0000${currency}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = buildFormatter(locale, currency, canPrint);
    if (formatters.size > 1000) formatters.clear();
    formatters.set(key, formatter);
  }
  return formatter;
}

function buildFormatter(
  locale: string,
  currency: string,
  canPrint: (text: string) => boolean,
): Formatter {
  const digits = minorUnitsOf(currency);
  const moneyAs = (currencyDisplay: 'symbol' | 'code') =>
    new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      currencyDisplay,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  // A symbol neither font can draw (₹, ₽, ₩ are not in the Unicode font) would print as a
  // blank: the ISO code is printed instead ("INR 39.79").
  const symbol = moneyAs('symbol')
    .formatToParts(0)
    .filter((p) => p.type === 'currency')
    .map((p) => p.value)
    .join('');
  const money = WIN_ANSI.test(symbol) || canPrint(symbol) ? moneyAs('symbol') : moneyAs('code');
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
  const percent = new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 0,
    maximumFractionDigits: 4,
  });
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
  // fr-FR and others group with U+202F (narrow no-break space), which neither Helvetica nor the
  // Unicode font has: it is printed as U+00A0, which both have.
  const narrow = (s: string) => s.replace(/\u202f/g, '\u00a0');
  return {
    // Strings are formatted exactly (ECMA-402 v3): no detour through binary floating point.
    money: (amount) => narrow(money.format(amount as Intl.StringNumericLiteral)),
    number: (value) => narrow(number.format(value as Intl.StringNumericLiteral)),
    percent: (ratio) => narrow(percent.format(ratio as Intl.StringNumericLiteral)),
    date: (day) => narrow(date.format(Date.parse(`${day}T00:00:00Z`))),
  };
}
