import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal as GlobalDecimal } from 'decimal.js';
import { Decimal, decimalToString, parseDecimal, toDecimal } from './decimal';
import { InvalidDecimalError } from './money.errors';

test('the private clone never mutates the global decimal.js configuration', () => {
  assert.equal(GlobalDecimal.precision, 20);
  assert.equal(GlobalDecimal.rounding, GlobalDecimal.ROUND_HALF_UP);
  assert.equal(Decimal.precision, 50);
  assert.equal(new GlobalDecimal('1e-9').toString(), '1e-9');
  assert.equal(new Decimal('1e-9').toString(), '0.000000001');
});

test('toDecimal re-wraps foreign decimals so arithmetic uses this configuration', () => {
  const third = toDecimal(new GlobalDecimal(1)).div(3);
  assert.equal(third.toString(), `0.${'3'.repeat(50)}`);
  assert.equal(toDecimal(12345678901234567890123n).toString(), '12345678901234567890123');
  assert.throws(() => toDecimal(new GlobalDecimal(NaN)), InvalidDecimalError);
  assert.throws(() => toDecimal(new GlobalDecimal(Infinity)), InvalidDecimalError);
});

test('parseDecimal keeps every digit of the input', () => {
  const digits = '1234567891'.repeat(7);
  assert.equal(parseDecimal(`${digits}.${digits}`).toString(), `${digits}.${digits}`);
  assert.equal(parseDecimal('007.50').toString(), '7.5');
  assert.equal(decimalToString(parseDecimal('-0.000')), '0');
});
