import { UnknownCurrencyError } from './money.errors';

/** An ISO 4217 alphabetic code, upper case, e.g. "EUR". */
export type CurrencyCode = string;

/**
 * ISO 4217 minor units (digits after the decimal point) of active currencies.
 * Fund codes and precious metals are left out: nobody is billed in them.
 */
const MINOR_UNITS: ReadonlyMap<CurrencyCode, number> = new Map(
  Object.entries({
    0: 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF',
    2:
      'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN ' +
      'BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL ' +
      'GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK ' +
      'LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO ' +
      'NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE ' +
      'SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UZS VES WST XCD ' +
      'XCG YER ZAR ZMW ZWG',
    3: 'BHD IQD JOD KWD LYD OMR TND',
    4: 'CLF UYW',
  }).flatMap(([digits, codes]) =>
    codes.split(' ').map((code): [CurrencyCode, number] => [code, Number(digits)]),
  ),
);

/** True when the code is an upper-case ISO 4217 code this library can round in. */
export function isKnownCurrency(code: string): boolean {
  return MINOR_UNITS.has(code);
}

/** Digits after the decimal point for the currency; throws UnknownCurrencyError otherwise. */
export function minorUnitsOf(code: string): number {
  const digits = MINOR_UNITS.get(code);
  if (digits === undefined) {
    throw new UnknownCurrencyError(code);
  }
  return digits;
}

/** Validates a currency code (strictly: upper case, no trimming) and returns it. */
export function assertCurrency(code: string): CurrencyCode {
  minorUnitsOf(code);
  return code;
}

/** Every known currency code, sorted. */
export function knownCurrencies(): CurrencyCode[] {
  return [...MINOR_UNITS.keys()].sort();
}
