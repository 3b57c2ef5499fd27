import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fraction, expectedInvoice, graduatedPrice, minorDigits } from './plan-arithmetic';

test('Fraction: exact decimals, rounding half away from zero', () => {
  const cases: [string, number, string][] = [
    ['0.005', 2, '0.01'],
    ['0.0049999999999999', 2, '0.00'],
    ['-0.005', 2, '-0.01'],
    ['-0.004', 2, '0.00'],
    ['2.5', 0, '3'],
    ['1234.56789', 3, '1234.568'],
    ['7', 2, '7.00'],
    ['0.000000000001', 12, '0.000000000001'],
  ];
  for (const [text, places, expected] of cases) {
    assert.equal(Fraction.parse(text).toFixed(places), expected, `${text} to ${places}`);
  }
  // 1/3 + 1/6 = 1/2 exactly; 0.1 + 0.2 = 0.3 exactly.
  const half = new Fraction(1n, 3n).plus(new Fraction(1n, 6n));
  assert.deepEqual([half.n, half.d], [1n, 2n]);
  assert.equal(Fraction.parse('0.1').plus(Fraction.parse('0.2')).compare(Fraction.parse('0.3')), 0);
  assert.throws(() => Fraction.parse('1e-3'), /plain decimal/);
});

test('graduated tiers price each part of the quantity at its own tier', () => {
  const tiers = [
    { upTo: '100', unitPrice: '0.040' },
    { upTo: '300', unitPrice: '0.035' },
    { upTo: null, unitPrice: '0.030' },
  ];
  const price = (hours: string) => graduatedPrice(Fraction.parse(hours), tiers).toFixed(6);
  assert.equal(price('0'), '0.000000');
  assert.equal(price('50'), '2.000000');
  assert.equal(price('100'), '4.000000');
  assert.equal(price('150'), '5.750000');
  // billing-api's own fixture: 400 h → 4 + 7 + 3.
  assert.equal(price('400'), '14.000000');
});

test('expected invoice: lines from exact seconds, a minimum line for a shortfall', () => {
  const plan = {
    id: 'p',
    currency: 'EUR',
    basis: 'usage' as const,
    cpu: {
      tiers: [
        { upTo: '0.002', unitPrice: '36.00' },
        { upTo: null, unitPrice: '12.00' },
      ],
    },
    memory: { tiers: [{ upTo: null, unitPrice: '300.00' }] },
    minimum: '5.00',
  };
  // CPU 18 s = 0.005 h: 0.002 × 36 + 0.003 × 12 = 0.108 → 0.11.
  // Memory 9 GiB-s = 0.0025 GiB-h × 300 = 0.75.
  assert.deepEqual(expectedInvoice(plan, { cpu: '18', memory: '9' }), {
    lines: [
      { meter: 'cpu', amount: '0.11' },
      { meter: 'memory', amount: '0.75' },
      { meter: 'minimum', amount: '4.14' },
    ],
    subtotal: '0.86',
    total: '5.00',
  });
  const memoryOnly = { ...plan, cpu: undefined, minimum: '0.50' };
  assert.deepEqual(expectedInvoice(memoryOnly, { cpu: '999', memory: '9' }), {
    lines: [{ meter: 'memory', amount: '0.75' }],
    subtotal: '0.75',
    total: '0.75',
  });
});

test('minor units come from ISO 4217', () => {
  assert.equal(minorDigits('EUR'), 2);
  assert.equal(minorDigits('INR'), 2);
  assert.equal(minorDigits('JPY'), 0);
  assert.equal(minorDigits('BHD'), 3);
});
