import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { Decimal } from '@metering/money';
import { periodBounds } from '@metering/pricing';
import { invoiceFor, plan, usageRow } from '../domain/invoice-fixtures';
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
