import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCurrency, isKnownCurrency, knownCurrencies, minorUnitsOf } from './currency';
import { UnknownCurrencyError } from './money.errors';

test('minor units follow ISO 4217', () => {
  const expected: Record<string, number> = {
    EUR: 2,
    USD: 2,
    GBP: 2,
    CHF: 2,
    CNY: 2,
    INR: 2,
    JPY: 0,
    KRW: 0,
    ISK: 0,
    BHD: 3,
    KWD: 3,
    JOD: 3,
    OMR: 3,
    TND: 3,
    CLF: 4,
  };
  for (const [code, digits] of Object.entries(expected)) {
    assert.equal(minorUnitsOf(code), digits, code);
  }
});

test('codes are strict: upper case, known, no trimming', () => {
  assert.ok(isKnownCurrency('EUR'));
  assert.ok(!isKnownCurrency('eur'));
  assert.ok(!isKnownCurrency('EUR '));
  assert.equal(assertCurrency('JPY'), 'JPY');
  assert.throws(() => minorUnitsOf('ZZZ'), UnknownCurrencyError);
});

test('the currency table has no duplicates and only well-formed codes', () => {
  const codes = knownCurrencies();
  assert.equal(new Set(codes).size, codes.length);
  assert.ok(codes.length > 150);
  for (const code of codes) {
    assert.match(code, /^[A-Z]{3}$/);
  }
});
