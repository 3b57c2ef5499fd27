import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { Decimal } from '@metering/money';
import { periodBounds } from '@metering/pricing';
import { invoiceFor, plan, usageRow } from '../domain/invoice-fixtures';
import { type InvoiceBilling, REVERSE_CHARGE } from '../domain/legal.model';
import { withBilling } from '../domain/tax-calculator';
import { CSV_COLUMNS, invoiceCsv } from './invoice-csv.renderer';

test('an invoice CSV parses back: header, line rows adding up to the total row, resources', () => {
  const nov = periodBounds('2026-11', 'UTC');
  const p = plan('p', {
    cpu: [{ upTo: null, unitPrice: '0.04' }],
    memory: [{ upTo: null, unitPrice: '0.005' }],
    minimum: '20',
  });
  const invoice = invoiceFor('2026-11', [{ effectiveFromMs: nov.startMs, plan: p }], () => [
    usageRow(0, 'web, "quoted"', '10', '100'),
  ]);
  const rows: Record<string, string>[] = parse(invoiceCsv(invoice), { columns: true });
  assert.deepEqual(Object.keys(rows[0] ?? {}), [...CSV_COLUMNS]);
  const lineRows = rows.filter((r) =>
    ['cpu', 'memory', 'minimum', 'adjustment'].includes(r.row_type ?? ''),
  );
  assert.deepEqual(
    lineRows.map((r) => [r.row_type, r.amount]),
    [
      ['cpu', '0.40'],
      ['memory', '0.50'],
      ['minimum', '19.10'],
    ],
  );
  const sum = lineRows.reduce((s, r) => s.plus(r.amount ?? '0'), new Decimal(0));
  assert.equal(rows.find((r) => r.row_type === 'total')?.amount, '20.00');
  assert.ok(sum.eq('20.00'));
  assert.deepEqual(
    rows.filter((r) => r.row_type === 'resource').map((r) => r.description),
    ['container web, "quoted" cpu', 'container web, "quoted" memory'],
  );
});

test('resource rows name the resource beside a short id and carry the whole id and the name', () => {
  const nov = periodBounds('2026-11', 'UTC');
  const p = plan('p', { memory: [{ upTo: null, unitPrice: '0.005' }] });
  const id = 'f'.repeat(64);
  const invoice = invoiceFor('2026-11', [{ effectiveFromMs: nov.startMs, plan: p }], () => [
    { ...usageRow(0, id, '10', '100'), resourceName: 'Ωμέγα 株式会社, "web"' },
    { ...usageRow(0, 'unnamed-1', '10', '100'), resourceName: null },
  ]);
  const rows: Record<string, string>[] = parse(invoiceCsv(invoice), { columns: true });
  const resources = rows.filter((r) => r.row_type === 'resource');
  assert.deepEqual(
    resources.map((r) => [r.description, r.resource_id, r.resource_name]),
    [
      [`container Ωμέγα 株式会社, "web" (${'f'.repeat(12)}) cpu`, id, 'Ωμέγα 株式会社, "web"'],
      [`container Ωμέγα 株式会社, "web" (${'f'.repeat(12)}) memory`, id, 'Ωμέγα 株式会社, "web"'],
      ['container unnamed-1 cpu', 'unnamed-1', ''],
      ['container unnamed-1 memory', 'unnamed-1', ''],
    ],
  );
  // Line rows leave the resource columns empty.
  assert.ok(rows.filter((r) => r.row_type !== 'resource').every((r) => r.resource_id === ''));
});

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
  buyer: { legalName: 'Buyer', address: [], taxId: null, email: null },
  tax: { ratePercent, exemptionReason },
  paymentTermsDays: 30,
  locale: 'de-DE',
});

const twentyEuros = () => {
  const nov = periodBounds('2026-11', 'UTC');
  const p = plan('p', {
    cpu: [{ upTo: null, unitPrice: '0.04' }],
    memory: [{ upTo: null, unitPrice: '0.005' }],
    minimum: '20',
  });
  return invoiceFor('2026-11', [{ effectiveFromMs: nov.startMs, plan: p }], () => [
    usageRow(0, 'web', '10', '100'),
  ]);
};

test('the column order is stable: the tax columns come last, after every earlier column', () => {
  const header = invoiceCsv(twentyEuros()).split('\n')[0];
  assert.equal(
    header?.trim(),
    'tenant_id,period,status,number,currency,row_type,description,quantity,unit,unit_price,amount,' +
      'plan,from,to,completeness,content_hash,resource_id,resource_name,net,tax_rate,tax_amount,gross',
  );
});

test('tax and gross: a tax row per rate and a gross row, the JSON figures on every row, rounded once', () => {
  // 20.00 × 19.125 % = 3.825 → 3.83 (half-up, once), gross 23.83.
  const invoice = withBilling(twentyEuros(), billing('19.125'));
  assert.deepEqual([invoice.net, invoice.tax, invoice.gross], ['20.00', '3.83', '23.83']);
  const rows: Record<string, string>[] = parse(invoiceCsv(invoice), { columns: true });
  const tax = rows.filter((r) => r.row_type === 'tax');
  assert.deepEqual(
    tax.map((r) => [r.description, r.quantity, r.unit, r.unit_price, r.amount]),
    [['Tax 19.125%', '20.00', '%', '19.125', '3.83']],
  );
  const total = rows.find((r) => r.row_type === 'total')?.amount ?? '';
  const gross = rows.find((r) => r.row_type === 'gross')?.amount ?? '';
  assert.equal(gross, '23.83');
  assert.ok(new Decimal(total).plus(tax[0]?.amount ?? '0').eq(gross), 'total + tax = gross');
  for (const r of rows) {
    assert.deepEqual(
      [r.net, r.tax_rate, r.tax_amount, r.gross],
      ['20.00', '19.125', '3.83', '23.83'],
    );
  }
  // The line rows still add up to the total (tax and gross rows are not lines).
  const lineSum = rows
    .filter((r) => ['cpu', 'memory', 'minimum', 'adjustment'].includes(r.row_type ?? ''))
    .reduce((s, r) => s.plus(r.amount ?? '0'), new Decimal(0));
  assert.ok(lineSum.eq(total));
});

test('a zero rate for a reason names it; no tax policy: no tax row, tax 0.00; before tax existed: net only', () => {
  const rc = withBilling(twentyEuros(), billing('0', REVERSE_CHARGE));
  const rcRows: Record<string, string>[] = parse(invoiceCsv(rc), { columns: true });
  assert.deepEqual(
    rcRows.filter((r) => r.row_type === 'tax').map((r) => [r.description, r.amount, r.tax_rate]),
    [[`Tax 0% (${REVERSE_CHARGE})`, '0.00', '0']],
  );
  assert.equal(rcRows.find((r) => r.row_type === 'gross')?.amount, '20.00');

  const none = withBilling(twentyEuros(), billing(null));
  const noneRows: Record<string, string>[] = parse(invoiceCsv(none), { columns: true });
  assert.equal(noneRows.filter((r) => r.row_type === 'tax').length, 0);
  assert.deepEqual(
    [noneRows[0]?.net, noneRows[0]?.tax_rate, noneRows[0]?.tax_amount, noneRows[0]?.gross],
    ['20.00', '', '0.00', '20.00'],
  );

  const legacy: Record<string, string>[] = parse(invoiceCsv(twentyEuros()), { columns: true });
  assert.equal(
    legacy.some((r) => r.row_type === 'tax' || r.row_type === 'gross'),
    false,
  );
  assert.deepEqual(
    [legacy[0]?.net, legacy[0]?.tax_rate, legacy[0]?.tax_amount, legacy[0]?.gross],
    ['20.00', '', '', ''],
  );
});
