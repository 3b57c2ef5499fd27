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
  // The invoice's tax figures on every row, like its number and currency (added after the
  // columns above): the same strings as the JSON and the PDF, never recomputed here.
  'net',
  'tax_rate',
  'tax_amount',
  'gross',
] as const;

type Record = { [K in (typeof CSV_COLUMNS)[number]]: string };

/**
 * Rows of an invoice: its lines (row_type = cpu | memory | minimum | adjustment), then
 * `subtotal` and `total` (the net), one `tax` row per tax line (quantity = the base, unit `%`,
 * unit_price = the rate, amount = the tax, rounded once as on the JSON and PDF) and `gross`, then
 * the per-resource breakdown (row_type = resource, no amount; the description names the
 * resource as `name (short id)`, `resource_id` and `resource_name` whole).
 * Summing the line rows' amounts gives the total row's amount; total + tax rows = gross.
 * Every row carries the invoice's net, tax rate(s) (`;`-separated if several), tax and gross; an
 * invoice finalised before tax existed has net = total and the others empty.
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
    net: invoice.net ?? invoice.total,
    tax_rate: (invoice.taxLines ?? []).map((t) => t.ratePercent).join(';'),
    tax_amount: invoice.tax ?? '',
    gross: invoice.gross ?? '',
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
  for (const t of invoice.taxLines ?? []) {
    rows.push({
      ...base,
      ...empty,
      row_type: 'tax',
      description:
        t.exemptionReason === null
          ? `Tax ${t.ratePercent}%`
          : `Tax ${t.ratePercent}% (${t.exemptionReason})`,
      quantity: t.base,
      unit: '%',
      unit_price: t.ratePercent,
      amount: t.amount,
    });
  }
  if (invoice.gross !== undefined) {
    rows.push({
      ...base,
      ...empty,
      row_type: 'gross',
      description: 'Gross',
      amount: invoice.gross,
    });
  }
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

/** One invoice's rows at a time: a batch's records are never all alive together. */
export function invoicesCsv(invoices: readonly InvoiceDocument[]): string {
  const columns = [...CSV_COLUMNS];
  return invoices.map((i) => stringify(invoiceCsvRecords(i), { columns })).join('');
}

export function invoiceCsv(invoice: InvoiceDocument): string {
  return csvHeader() + invoicesCsv([invoice]);
}
