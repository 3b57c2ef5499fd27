import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';

const run = promisify(execFile);

/** The fields of the billing API's invoice JSON (product.md "Interfaces") that the checks read. */
export interface InvoiceJson {
  readonly tenantId: string;
  readonly period: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly status: 'draft' | 'final';
  readonly number: string | null;
  readonly currency: string;
  /** The PDF's locale (billing-api formats amounts, numbers and dates for it); default en. */
  readonly locale?: string;
  /** Net (= total) plus tax: what the buyer pays. */
  readonly gross?: string;
  readonly lines: readonly {
    readonly meter: 'cpu' | 'memory' | 'minimum' | 'adjustment';
    readonly description: string;
    readonly quantity: string;
    readonly quantitySeconds?: string;
    readonly unit: string;
    readonly unitPrice: string | null;
    readonly amount: string;
  }[];
  readonly resources: readonly {
    readonly resourceId: string;
    readonly resourceKind: 'container' | 'vm';
    readonly cpu: { readonly quantity: string; readonly quantitySeconds: string };
    readonly memory: { readonly quantity: string; readonly quantitySeconds: string };
  }[];
  readonly subtotal: string;
  readonly total: string;
  readonly minimum: { readonly committed: string; readonly prorated: string };
  readonly usageTotals: {
    readonly cpuUsageCoreSeconds: string;
    readonly memoryUsageByteSeconds: string;
  };
  readonly issuedAt: string | null;
  readonly contentHash: string | null;
}

export interface UsageJson {
  readonly totals: { readonly cpuCoreSeconds: string; readonly memoryGibSeconds: string };
}

/** `GET /v1/tenants/:id/usage?…&by=resource`: each resource as the ledger's dimension names it. */
export interface UsageResourceJson {
  readonly id: string;
  readonly kind: string;
  readonly name: string | null;
  readonly image: string | null;
  readonly flavour: string | null;
  readonly host: string | null;
}

export interface CloseJson {
  readonly period: string;
  readonly tenants: number;
  readonly finalized: number;
  readonly alreadyFinal: number;
}

/** pdftotext (poppler-utils) of a PDF file, with the page layout kept. */
export async function pdfToText(file: string): Promise<string> {
  const { stdout } = await run('pdftotext', ['-layout', file, '-']);
  return stdout;
}

/** The PDF shows quantities cut to 3 decimals (the renderer's `short`). */
function shortQuantity(quantity: string): string {
  const [whole, fraction] = quantity.split('.');
  return fraction === undefined || fraction.length <= 3
    ? quantity
    : `${whole ?? '0'}.${fraction.slice(0, 3)}`;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** No-break spaces (de-DE, fr-FR) come out of pdftotext as they please: compare them as spaces. */
const spaces = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/** An amount as the PDF prints it: the invoice's locale, its currency, the amount's digits. */
function pdfMoney(
  json: InvoiceJson,
  amount: string,
  display: 'symbol' | 'code' = 'symbol',
): string {
  const digits = amount.split('.')[1]?.length ?? 0;
  const text = new Intl.NumberFormat(json.locale ?? 'en', {
    style: 'currency',
    currency: json.currency,
    currencyDisplay: display,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(amount as Intl.StringNumericLiteral);
  return spaces(text);
}

/**
 * The amount as a pattern: with the currency's symbol, or with its ISO code where the PDF's fonts
 * have no glyph for the symbol (₹, ₽, ₩…: the renderer prints "INR 39.79" rather than a blank).
 */
function pdfMoneyPattern(json: InvoiceJson, amount: string): string {
  return `(?:${escape(pdfMoney(json, amount))}|${escape(pdfMoney(json, amount, 'code'))})`;
}

/** A quantity as the PDF prints it: 3 decimals at most, grouped for the locale. */
function pdfQuantity(json: InvoiceJson, quantity: string): string {
  return spaces(
    new Intl.NumberFormat(json.locale ?? 'en', { maximumFractionDigits: 6 }).format(
      shortQuantity(quantity) as Intl.StringNumericLiteral,
    ),
  );
}

/**
 * Where the invoice's CSV and PDF disagree with its JSON: every line (type, quantity, amount),
 * subtotal, total, number, status and content hash. Empty when all three say the same.
 */
export function documentDisagreements(json: InvoiceJson, csv: string, printed: string): string[] {
  const pdfText = spaces(printed);
  const problems: string[] = [];
  const rows = parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true });
  const lineRows = rows.filter((r) =>
    ['cpu', 'memory', 'minimum', 'adjustment'].includes(r.row_type ?? ''),
  );
  if (lineRows.length !== json.lines.length) {
    problems.push(`CSV has ${lineRows.length} line rows, JSON ${json.lines.length} lines`);
  }
  json.lines.forEach((line, i) => {
    const row = lineRows[i];
    const csvLine = [row?.row_type, row?.quantity, row?.amount].join(' ');
    const jsonLine = [line.meter, line.quantity, line.amount].join(' ');
    if (csvLine !== jsonLine) problems.push(`CSV line ${i + 1} "${csvLine}" ≠ JSON "${jsonLine}"`);
    // PDF: the description, the quantity (3 decimals) and the amount on one row, in its locale.
    const pdfRow = new RegExp(
      `${escape(line.description.slice(0, 30))}.*\\s${escape(pdfQuantity(json, line.quantity))}\\s.*\\s${pdfMoneyPattern(json, line.amount)}`,
    );
    if (!pdfRow.test(pdfText)) {
      problems.push(`PDF has no row for ${jsonLine} (${line.description.slice(0, 30)}…)`);
    }
  });
  const rowOf = (type: string) => rows.find((r) => r.row_type === type);
  for (const [type, value] of [
    ['subtotal', json.subtotal],
    ['total', json.total],
  ] as const) {
    if (rowOf(type)?.amount !== value) {
      problems.push(`CSV ${type} ${rowOf(type)?.amount ?? '(none)'} ≠ JSON ${value}`);
    }
    // With billing details the PDF prints the total as "Net" and then "Total due" (the gross).
    const label = type === 'total' ? (json.gross === undefined ? 'Total' : 'Net') : 'Subtotal';
    if (!new RegExp(`${label}\\s+${pdfMoneyPattern(json, value)}`).test(pdfText)) {
      problems.push(`PDF shows no "${label} ${pdfMoney(json, value)}"`);
    }
  }
  if (
    json.gross !== undefined &&
    !new RegExp(`Total due\\s+${pdfMoneyPattern(json, json.gross)}`).test(pdfText)
  ) {
    problems.push(`PDF shows no "Total due ${pdfMoney(json, json.gross)}"`);
  }
  for (const row of rows) {
    const fields = [row.tenant_id, row.period, row.status, row.number, row.content_hash];
    const expected = [
      json.tenantId,
      json.period,
      json.status,
      json.number ?? '',
      json.contentHash ?? '',
    ];
    if (fields.join('|') !== expected.join('|')) {
      problems.push(`CSV row ${row.row_type ?? '?'}: ${fields.join('|')} ≠ ${expected.join('|')}`);
      break;
    }
  }
  if (json.number !== null && !pdfText.includes(json.number)) {
    problems.push(`PDF does not show the number ${json.number}`);
  }
  if (json.contentHash !== null && !pdfText.includes(json.contentHash)) {
    problems.push('PDF does not show the content hash');
  }
  if (!pdfText.includes(json.status === 'final' ? 'INVOICE' : 'DRAFT INVOICE')) {
    problems.push(`PDF does not say ${json.status === 'final' ? 'INVOICE' : 'DRAFT INVOICE'}`);
  }
  return problems;
}
