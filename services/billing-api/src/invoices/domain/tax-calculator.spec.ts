import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Money } from '@metering/money';
import { finalizeInvoice } from './canonical-json';
import { invoiceFor, plan, usageRow } from './invoice-fixtures';
import { REVERSE_CHARGE, REVERSE_CHARGE_NOTE, type InvoiceBilling } from './legal.model';
import { dueDateOf, taxLinesOf, totalsOf, withBilling } from './tax-calculator';

const eur = (a: string) => Money.parse(a, 'EUR');
const billing = (
  ratePercent: string | null,
  exemptionReason: string | null = null,
): InvoiceBilling => ({
  seller: {
    legalName: 'Seller GmbH',
    address: ['Street 1'],
    taxId: 'DE1',
    email: null,
    bank: { name: null, iban: 'DE89 3704 0044 0532 0130 00', bic: null },
    sample: false,
  },
  buyer: { legalName: 'Ωμέγα 株式会社', address: [], taxId: 'EL123', email: null },
  tax: { ratePercent, exemptionReason },
  paymentTermsDays: 30,
  locale: 'el-GR',
});

describe('tax lines (exact, rounded once half-up to the minor unit)', () => {
  const table: [string, string, string, string][] = [
    // net, rate %, tax, gross
    ['100.00', '19', '19.00', '119.00'],
    ['0.05', '10', '0.01', '0.06'], // 0.005 → 0.01 (half-up)
    ['0.04', '12.5', '0.01', '0.05'], // 0.005 → 0.01
    ['0.03', '12.5', '0.00', '0.03'], // 0.00375 → 0.00
    ['-0.05', '10', '-0.01', '-0.06'], // ties away from zero: a credit mirrors a charge
    ['123.45', '7.7', '9.51', '132.96'], // 9.50565
    ['999999999999.99', '100', '999999999999.99', '1999999999999.98'],
    ['10.00', '0', '0.00', '10.00'],
  ];
  for (const [net, rate, tax, gross] of table) {
    test(`${net} at ${rate} % → tax ${tax}, gross ${gross}`, () => {
      const t = totalsOf(eur(net), { ratePercent: rate, exemptionReason: null });
      assert.deepEqual([t.net, t.tax, t.gross], [net, tax, gross]);
    });
  }
  test('JPY has no minor unit; BHD has three', () => {
    assert.equal(
      totalsOf(Money.parse('1005', 'JPY'), { ratePercent: '10', exemptionReason: null }).tax,
      '101',
    );
    assert.equal(
      totalsOf(Money.parse('1.005', 'BHD'), { ratePercent: '10', exemptionReason: null }).tax,
      '0.101',
    );
  });
  test('no rate: no tax line; a rate outside 0…100 is refused', () => {
    assert.deepEqual(taxLinesOf(eur('10.00'), { ratePercent: null, exemptionReason: null }), []);
    assert.throws(
      () => taxLinesOf(eur('1'), { ratePercent: '100.01', exemptionReason: null }),
      RangeError,
    );
    assert.throws(
      () => taxLinesOf(eur('1'), { ratePercent: '-1', exemptionReason: null }),
      RangeError,
    );
  });
});

describe('withBilling', () => {
  const nov = () =>
    invoiceFor(
      '2026-11',
      [{ effectiveFromMs: 0, plan: plan('p', { cpu: [{ upTo: null, unitPrice: '0.10' }] }) }],
      () => [usageRow(0, 'c1', '1000', '0')],
    );
  test('net = total, tax line, gross; parties and terms carried; total keeps its meaning', () => {
    const i = withBilling(nov(), billing('19'));
    assert.equal(i.total, '100.00');
    assert.equal(i.net, '100.00');
    assert.equal(i.tax, '19.00');
    assert.equal(i.gross, '119.00');
    assert.deepEqual(i.notes, []);
    assert.equal(i.buyer?.legalName, 'Ωμέγα 株式会社');
    assert.equal(i.dueDate, null);
  });
  test('reverse charge: zero tax and the EU wording; another reason prints as an exemption', () => {
    const rc = withBilling(nov(), billing('0', REVERSE_CHARGE));
    assert.equal(rc.tax, '0.00');
    assert.equal(rc.gross, '100.00');
    assert.deepEqual(rc.notes, [REVERSE_CHARGE_NOTE]);
    assert.deepEqual(withBilling(nov(), billing('0', 'Art. 132 (education)')).notes, [
      'Tax exemption: Art. 132 (education)',
    ]);
    // A reason with a non-zero rate is not a zero rate for a reason: no note.
    assert.deepEqual(withBilling(nov(), billing('19', REVERSE_CHARGE)).notes, []);
  });
  test('finalising sets the due date: issue day in the tenant zone + payment terms', () => {
    const final = finalizeInvoice(
      withBilling(nov(), billing('19')),
      'INV-2026-11-000001',
      Date.parse('2026-12-03T10:00:00Z'),
    );
    assert.equal(final.dueDate, '2027-01-02');
  });
});

describe('due dates', () => {
  const table: [string, string, number, string][] = [
    ['2026-12-03T10:00:00Z', 'UTC', 0, '2026-12-03'],
    ['2026-12-03T10:00:00Z', 'UTC', 30, '2027-01-02'],
    ['2026-12-31T23:30:00Z', 'Asia/Tokyo', 1, '2027-01-02'], // already 1 Jan in Tokyo
    ['2026-12-01T03:00:00Z', 'America/New_York', 14, '2026-12-14'], // still 30 Nov in New York
    ['2028-02-28T12:00:00Z', 'UTC', 1, '2028-02-29'], // leap day
    ['2026-03-28T12:00:00Z', 'Europe/Berlin', 2, '2026-03-30'], // across the DST change
  ];
  for (const [issued, zone, days, due] of table) {
    test(`${issued} in ${zone} + ${days} d → ${due}`, () => {
      assert.equal(dueDateOf(Date.parse(issued), zone, days), due);
    });
  }
  test('negative or fractional terms are refused', () => {
    assert.throws(() => dueDateOf(0, 'UTC', -1), RangeError);
    assert.throws(() => dueDateOf(0, 'UTC', 1.5), RangeError);
  });
});
