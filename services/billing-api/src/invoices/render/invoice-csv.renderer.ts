import { stringify } from 'csv-stringify/sync';
import { type InvoiceDocument, resourceLabel } from '../domain';

/** One CSV layout for a single invoice and for the month's export of all tenants. */
export const CSV_COLUMNS = [
  'tenant_id',
  'period',
  'status',
  'number',
  'currency',
  'row_type',
  'description',
  'quantity',
  'unit',
  'unit_price',
  'amount',
  'plan',
  'from',
  'to',
  'completeness',
  'content_hash',
  // Resource rows only (added after the columns above, which keep their places).
  'resource_id',
  'resource_name',
] as const;

type Record = { [K in (typeof CSV_COLUMNS)[number]]: string };

/**
 * Rows of an invoice: its lines (row_type = cpu | memory | minimum | adjustment), then
 * `subtotal` and `total`, then the per-resource breakdown (row_type = resource, no amount; the
 * description names the resource as `name (short id)`, `resource_id` and `resource_name` whole).
 * Summing the line rows' amounts gives the total row's amount.
 */
export function invoiceCsvRecords(invoice: InvoiceDocument): Record[] {
  const base = {
    tenant_id: invoice.tenantId,
    period: invoice.period,
    status: invoice.status,
    number: invoice.number ?? '',
    currency: invoice.currency,
    content_hash: invoice.contentHash ?? '',
    resource_id: '',
    resource_name: '',
  };
  const empty = {
    quantity: '',
    unit: '',
    unit_price: '',
    plan: '',
    from: '',
    to: '',
    completeness: '',
  };
  const rows: Record[] = invoice.lines.map((l) => ({
    ...base,
    row_type: l.meter,
    description: l.description,
    quantity: l.quantity,
    unit: l.unit,
    unit_price: l.unitPrice ?? (l.tiers === undefined ? '' : 'tiered'),
    amount: l.amount,
    plan: l.planId === undefined ? '' : `${l.planId} v${l.planVersion ?? ''}`,
    from: l.from ?? '',
    to: l.to ?? '',
    completeness: l.completeness ?? '',
  }));
  rows.push({
    ...base,
    ...empty,
    row_type: 'subtotal',
    description: 'Subtotal',
    amount: invoice.subtotal,
  });
  rows.push({
    ...base,
    ...empty,
    row_type: 'total',
    description: 'Total',
    amount: invoice.total,
    completeness: invoice.completeness.ratio ?? '',
  });
  for (const r of invoice.resources) {
    for (const [meter, unit] of [
      ['cpu', 'vCPU-hour'],
      ['memory', 'GiB-hour'],
    ] as const) {
      rows.push({
        ...base,
        ...empty,
        row_type: 'resource',
        description: `${r.resourceKind} ${resourceLabel(r)} ${meter}`,
        resource_id: r.resourceId,
        resource_name: r.resourceName ?? '',
        quantity: r[meter].quantity,
        unit,
        amount: '',
        completeness: r.completeness ?? '',
      });
    }
  }
  return rows;
}

export function csvHeader(): string {
  return stringify([[...CSV_COLUMNS]]);
}

export function invoicesCsv(invoices: readonly InvoiceDocument[]): string {
  return stringify(invoices.flatMap(invoiceCsvRecords), { columns: [...CSV_COLUMNS] });
}

export function invoiceCsv(invoice: InvoiceDocument): string {
  return csvHeader() + invoicesCsv([invoice]);
}
