import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatterFor } from './invoice-pdf.renderer';

const spaces = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

test('a currency symbol no font can draw is printed as its ISO code, never as a blank', () => {
  // The Unicode font (WenQuanYi Micro Hei) has no ₹, ₽ or ₩: the code is printed.
  assert.equal(spaces(formatterFor('en-IN', 'INR', () => false).money('39.79')), 'INR 39.79');
  assert.equal(spaces(formatterFor('ru-RU', 'RUB', () => false).money('1234.5')), '1 234,50 RUB');
  // A font that has it: the symbol.
  assert.equal(formatterFor('en-GB', 'INR', () => true).money('39.79'), '₹39.79');
  // Symbols in Helvetica's WinAnsi (€, £, $) never depend on the Unicode font.
  assert.equal(formatterFor('en-US', 'EUR', () => false).money('5.00'), '€5.00');
  assert.equal(formatterFor('en-US', 'GBP', () => false).money('5.00'), '£5.00');
});
