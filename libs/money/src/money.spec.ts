import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Money, sumMoney } from './money';
import {
  CurrencyMismatchError,
  DivisionByZeroError,
  InvalidDecimalError,
  MoneyError,
  UnknownCurrencyError,
} from './money.errors';

const eur = (amount: string): Money => Money.parse(amount, 'EUR');

test('roundToMinor and toFixed round half away from zero to the minor unit', () => {
  const cases: [amount: string, currency: string, fixed: string][] = [
    ['0.005', 'EUR', '0.01'],
    ['0.004999', 'EUR', '0.00'],
    ['-0.005', 'EUR', '-0.01'],
    ['-0.004999', 'EUR', '0.00'],
    ['2.675', 'EUR', '2.68'],
    ['-2.675', 'EUR', '-2.68'],
    ['12.3', 'EUR', '12.30'],
    ['0', 'USD', '0.00'],
    ['1.005', 'GBP', '1.01'],
    ['1234.5', 'JPY', '1235'],
    ['0.4', 'JPY', '0'],
    ['-2.5', 'KRW', '-3'],
    ['1.2345', 'KWD', '1.235'],
    ['1.2344999', 'KWD', '1.234'],
    ['-0.0005', 'BHD', '-0.001'],
    ['7', 'TND', '7.000'],
    ['0.00005', 'CLF', '0.0001'],
  ];
  for (const [amount, currency, fixed] of cases) {
    const money = Money.parse(amount, currency);
    assert.equal(money.toFixed(), fixed, `${amount} ${currency}`);
    assert.equal(money.roundToMinor().toFixed(), fixed, `${amount} ${currency} rounded`);
    assert.ok(money.roundToMinor().equals(Money.parse(fixed, currency)), `${amount} ${currency}`);
  }
  // The case that motivates decimals: binary floating point gets it wrong.
  assert.equal((2.675).toFixed(2), '2.67');
});

test('toMinorUnits gives the rounded amount as a bigint count of minor units', () => {
  const cases: [amount: string, currency: string, units: bigint][] = [
    ['12.30', 'EUR', 1230n],
    ['-0.005', 'EUR', -1n],
    ['0.004999', 'EUR', 0n],
    ['1234.5', 'JPY', 1235n],
    ['1.2345', 'KWD', 1235n],
    ['123456789012345678.995', 'USD', 12345678901234567900n],
  ];
  for (const [amount, currency, units] of cases) {
    assert.equal(Money.parse(amount, currency).toMinorUnits(), units, `${amount} ${currency}`);
  }
});

test('fromMinorUnits is the inverse of toMinorUnits', () => {
  assert.equal(Money.fromMinorUnits(1230n, 'EUR').toString(), '12.3');
  assert.equal(Money.fromMinorUnits(1230n, 'EUR').toFixed(), '12.30');
  assert.equal(Money.fromMinorUnits(-1n, 'KWD').toFixed(), '-0.001');
  assert.equal(Money.fromMinorUnits(1235n, 'JPY').toFixed(), '1235');
});

test('large and many additions are exact', () => {
  assert.equal(eur('1000000000000000').add(eur('0.01')).toString(), '1000000000000000.01');
  assert.equal(1e15 + 0.01, 1e15); // a double cannot even represent the cent here

  const tenths = Array.from({ length: 10_000 }, () => eur('0.1'));
  const total = sumMoney(tenths, 'EUR');
  assert.equal(total.toString(), '1000');
  assert.ok(total.equals(eur('1000')));
  let float = 0;
  for (let i = 0; i < 10_000; i++) float += 0.1;
  assert.notEqual(float, 1000);
});

test('sumMoney of nothing is zero in the given currency', () => {
  const total = sumMoney([], 'JPY');
  assert.ok(total.isZero());
  assert.equal(total.currency, 'JPY');
  assert.equal(total.toFixed(), '0');
});

test('multiply and divide keep full precision', () => {
  // 0.0050 per GiB-hour × 0.123456789 GiB-hours
  assert.equal(eur('0.0050').multiply('0.123456789').toString(), '0.000617283945');
  assert.equal(eur('0.040').multiply(3n).toString(), '0.12');
  assert.equal(
    eur('1').divide('3').toString(),
    '0.33333333333333333333333333333333333333333333333333',
  );
  assert.equal(eur('1').divide('3').toFixed(), '0.33');
  assert.throws(() => eur('1').divide('0'), DivisionByZeroError);
});

test('negative adjustments add, subtract and round symmetrically', () => {
  const charge = eur('10');
  const adjustment = eur('-3.335');
  assert.equal(charge.add(adjustment).toString(), '6.665');
  assert.equal(charge.add(adjustment).toFixed(), '6.67');
  assert.equal(adjustment.toFixed(), '-3.34');
  assert.equal(adjustment.negate().toFixed(), '3.34');
  assert.equal(eur('1').subtract(eur('2.5')).toString(), '-1.5');
  assert.ok(adjustment.isNegative());
  assert.ok(!adjustment.isPositive());
  assert.equal(adjustment.abs().toString(), '3.335');
  assert.ok(eur('-0').isZero() && !eur('-0').isNegative());
  assert.equal(eur('-0').toString(), '0');
  assert.equal(eur('-0.001').toFixed(), '0.00');
});

test('comparisons', () => {
  assert.equal(eur('1.50').compareTo(eur('1.5')), 0);
  assert.equal(eur('1.49').compareTo(eur('1.5')), -1);
  assert.equal(eur('-1').compareTo(eur('-2')), 1);
  assert.ok(eur('1.5').equals(eur('1.50')));
  assert.ok(eur('1').lessThan(eur('1.01')));
  assert.ok(eur('1').lessThanOrEqual(eur('1.00')));
  assert.ok(eur('2').greaterThan(eur('1.99')));
  assert.ok(eur('2').greaterThanOrEqual(eur('2')));
  assert.ok(!eur('1').equals(Money.parse('1', 'USD')));
});

test('combining currencies raises MONEY_CURRENCY_MISMATCH', () => {
  const usd = Money.parse('1', 'USD');
  const attempts: [string, () => unknown][] = [
    ['add', () => eur('1').add(usd)],
    ['subtract', () => eur('1').subtract(usd)],
    ['compareTo', () => eur('1').compareTo(usd)],
    ['lessThan', () => eur('1').lessThan(usd)],
    ['sumMoney', () => sumMoney([eur('1'), usd], 'EUR')],
    ['sumMoney currency', () => sumMoney([eur('1')], 'USD')],
  ];
  for (const [name, attempt] of attempts) {
    assert.throws(
      attempt,
      (error: unknown) =>
        error instanceof CurrencyMismatchError &&
        error instanceof MoneyError &&
        error.code === 'MONEY_CURRENCY_MISMATCH' &&
        /EUR/.test(error.message) &&
        /USD/.test(error.message),
      name,
    );
  }
});

test('parse rejects anything but a plain decimal string with MONEY_INVALID_DECIMAL', () => {
  const invalid = [
    '',
    ' ',
    ' 1',
    '1 ',
    '+1',
    '1e3',
    '1E-3',
    'NaN',
    'Infinity',
    '-Infinity',
    '.5',
    '5.',
    '-',
    '1,5',
    '0x10',
    '--1',
    '1.2.3',
    '١٢',
  ];
  for (const input of invalid) {
    assert.throws(
      () => Money.parse(input, 'EUR'),
      (error: unknown) =>
        error instanceof InvalidDecimalError && error.code === 'MONEY_INVALID_DECIMAL',
      JSON.stringify(input),
    );
  }
  assert.throws(() => Money.parse(1.5 as unknown as string, 'EUR'), InvalidDecimalError);
});

test('unknown or malformed currency codes raise MONEY_UNKNOWN_CURRENCY', () => {
  for (const code of ['', 'eur', 'EURO', 'XXX', 'XAU', ' EUR']) {
    assert.throws(
      () => Money.parse('1', code),
      (error: unknown) =>
        error instanceof UnknownCurrencyError && error.code === 'MONEY_UNKNOWN_CURRENCY',
      JSON.stringify(code),
    );
  }
  assert.throws(() => Money.zero('ABC'), UnknownCurrencyError);
  assert.throws(() => Money.fromMinorUnits(1n, 'ABC'), UnknownCurrencyError);
});

test('toString is full precision and never uses exponent notation', () => {
  assert.equal(eur('0.000000001').toString(), '0.000000001');
  assert.equal(
    eur('123456789012345678901234567890.123456789').toString(),
    '123456789012345678901234567890.123456789',
  );
  assert.equal(eur('1.50').toString(), '1.5');
  assert.equal(String(eur('0.1')), '0.1');
});

test('JSON round trip keeps the amount as a decimal string', () => {
  const money = Money.parse('-12.345678', 'KWD');
  const json = JSON.stringify(money);
  assert.equal(json, '{"amount":"-12.345678","currency":"KWD"}');
  assert.ok(Money.fromJSON(JSON.parse(json) as { amount: string; currency: string }).equals(money));
});
