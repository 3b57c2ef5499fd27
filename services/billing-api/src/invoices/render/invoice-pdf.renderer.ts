import { Decimal } from '@metering/money';
import {
  type CreditNoteDocument,
  type InvoiceDocument,
  localDate,
  fittedResourceLabel,
} from '../domain';
import { type InvoiceAssets } from '../invoice-assets';
import { completenessText } from './completeness-text';
import { formatterFor, printable } from './invoice-formatter';
import { lineRow, notesBlock, paymentBlock, taxTotals, totalRow } from './pdf-charges';
import {
  ACCENT,
  ACCENT_2,
  COLS,
  ensureSpace,
  FONT,
  INK,
  ITALIC,
  MUTED,
  openDocument,
  PAGE,
  rule,
  sectionTitle,
  short,
  tableHeader,
} from './pdf-layout';
import {
  buyerOf,
  emptyBuyer,
  footer,
  header,
  metaTable,
  parties,
  sampleMark,
} from './pdf-page-sections';
import { barChart, type DailyUsagePoint } from './usage-chart';

// The public API stays here: the formatter and the chart's points are imported from this module.
export { formatterFor, type Formatter } from './invoice-formatter';
export { type DailyUsagePoint } from './usage-chart';

export interface PdfOptions {
  readonly providerName: string;
  readonly daily: readonly DailyUsagePoint[];
  /** Font, logo, and the seller for invoices finalised before they carried one. */
  readonly assets: InvoiceAssets;
}

/**
 * A one-invoice PDF: seller and buyer, number, issue and due dates, the lines with their tiers,
 * net, tax lines and gross, the notes tax law requires, payment details, a bar chart of daily
 * usage and the per-resource breakdown (its own function, `resourceTable`). Amounts and dates
 * are formatted for the invoice's locale; text stays extractable (pdftotext).
 *
 * One page layout, top to bottom; its parts live beside it, shared with the credit note
 * (`renderCreditNotePdf`): layout primitives (pdf-layout.ts), the parties, facts and footer
 * (pdf-page-sections.ts), the charge and total rows (pdf-charges.ts), the chart (usage-chart.ts)
 * and the locale's formatter (invoice-formatter.ts).
 */
export function renderInvoicePdf(invoice: InvoiceDocument, options: PdfOptions): Promise<Buffer> {
  const fmt = formatterFor(invoice.locale ?? 'en', invoice.currency, printable(options.assets));
  const seller = invoice.seller ?? options.assets.seller;
  const { doc, done } = openDocument(
    `Invoice ${invoice.number ?? 'draft'} ${invoice.tenantId} ${invoice.period}`,
    seller.legalName,
    options.assets,
  );
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  const ensure = ensureSpace(doc);

  header(
    doc,
    options,
    invoice.status === 'final' ? 'INVOICE' : 'DRAFT INVOICE',
    invoice.number ?? 'Not final: figures change while the month is open',
  );
  if (seller.sample) sampleMark(doc);
  parties(doc, seller, buyerOf(invoice), invoice.tenantId);

  const meta: [string, string][] = [
    ['Invoice number', invoice.number ?? '—'],
    ['Status', invoice.status],
    [
      'Issue date',
      invoice.issuedAt === null
        ? '—'
        : fmt.date(localDate(Date.parse(invoice.issuedAt), invoice.timeZone)),
    ],
    ['Due date', invoice.dueDate == null ? '—' : fmt.date(invoice.dueDate)],
    [
      'Period',
      `${fmt.date(`${invoice.period}-01`)} – ${fmt.date(lastDayOf(invoice.period))} (${invoice.timeZone})`,
    ],
    ['Currency', invoice.currency],
  ];
  if (invoice.paymentTermsDays !== undefined) {
    meta.push(['Payment terms', `${invoice.paymentTermsDays} days net`]);
  }
  metaTable(doc, meta);

  // Lines.
  doc.moveDown(1);
  sectionTitle(doc, 'Charges', left, contentWidth);
  tableHeader(doc, left, [
    ['Description', COLS.description, 'left'],
    ['Quantity', COLS.quantity, 'right'],
    ['Unit', COLS.unit, 'left'],
    ['Unit price', COLS.price, 'right'],
    ['Amount', COLS.amount, 'right'],
  ]);
  for (const line of invoice.lines) {
    ensure(30);
    lineRow(doc, left, line, fmt);
  }
  if (invoice.lines.length === 0) {
    doc.font(ITALIC).fontSize(9).fillColor(MUTED).text('No charges in this period.', left);
  }

  // Totals.
  ensure(110);
  doc.moveDown(0.5);
  rule(doc, left + COLS.price.x, contentWidth - COLS.price.x);
  totalRow(doc, left, 'Subtotal', fmt.money(invoice.subtotal), false);
  // The committed minimum for reference (its shortfall, if any, is the `minimum` line above).
  if (!new Decimal(invoice.minimum.prorated).isZero()) {
    totalRow(doc, left, 'Committed minimum', fmt.money(invoice.minimum.prorated), false);
  }
  taxTotals(doc, fmt, invoice.net ?? invoice.total, invoice.taxLines, invoice.gross);
  notesBlock(doc, invoice.notes ?? []);
  if (invoice.gross !== undefined) {
    paymentBlock(
      doc,
      seller,
      fmt.money(invoice.gross),
      invoice.dueDate == null ? null : fmt.date(invoice.dueDate),
      invoice.number,
    );
  }
  doc.moveDown(0.3);
  doc
    .font(FONT)
    .fontSize(8.5)
    .fillColor(MUTED)
    .text(
      completenessText(invoice.completeness, (ratio) => fmt.percent(ratio)),
      left,
      doc.y,
      { width: contentWidth },
    );

  // Daily usage chart.
  if (options.daily.length > 0) {
    ensure(170);
    doc.moveDown(1.2);
    sectionTitle(doc, 'Daily usage', left, contentWidth);
    const top = doc.y + 4;
    const half = (contentWidth - 20) / 2;
    barChart(
      doc,
      left,
      top,
      half,
      110,
      'vCPU-hours per day',
      options.daily.map((d) => d.cpuHours),
      ACCENT,
      options.daily,
    );
    barChart(
      doc,
      left + half + 20,
      top,
      half,
      110,
      'GiB-hours per day',
      options.daily.map((d) => d.memoryGibHours),
      ACCENT_2,
      options.daily,
    );
    doc.x = left;
    doc.y = top + 140;
  }

  resourceTable(doc, invoice, ensure);
  footer(
    doc,
    invoice.contentHash === null
      ? 'Draft: no content hash until the period is closed.'
      : `Content SHA-256: ${invoice.contentHash}`,
  );
  doc.end();
  return done;
}

/** A credit note: the same parties and formatting, the credited lines, net, tax and gross. */
export function renderCreditNotePdf(
  note: CreditNoteDocument,
  options: Omit<PdfOptions, 'daily'>,
): Promise<Buffer> {
  const fmt = formatterFor(note.locale ?? 'en', note.currency, printable(options.assets));
  const seller = note.seller ?? options.assets.seller;
  const { doc, done } = openDocument(
    `Credit note ${note.number}`,
    seller.legalName,
    options.assets,
  );
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  const ensure = ensureSpace(doc);
  header(doc, options, 'CREDIT NOTE', note.number);
  if (seller.sample) sampleMark(doc);
  parties(doc, seller, note.buyer ?? emptyBuyer(note.tenantName), note.tenantId);
  metaTable(doc, [
    ['Credit note number', note.number],
    ['Issue date', fmt.date(localDate(Date.parse(note.issuedAt), note.timeZone))],
    ['Corrects invoice', `${note.invoiceNumber} (${note.period})`],
    ['Reason', note.reason],
    ['Currency', note.currency],
  ]);
  doc.moveDown(1);
  sectionTitle(doc, 'Credited', left, contentWidth);
  tableHeader(doc, left, [
    ['Invoice line', { x: 0, w: 380 }, 'left'],
    ['Amount', COLS.amount, 'right'],
  ]);
  for (const line of note.lines) {
    ensure(20);
    const y = doc.y;
    doc.font(FONT).fontSize(9).fillColor(INK);
    doc.text(`${line.lineIndex + 1}. ${line.description}`, left, y, { width: 380 });
    const after = doc.y;
    doc.text(fmt.money(line.amount), left + COLS.amount.x, y, {
      width: COLS.amount.w,
      align: 'right',
    });
    doc.y = Math.max(after, y + 12) + 3;
  }
  ensure(90);
  doc.moveDown(0.5);
  rule(doc, left + COLS.price.x, contentWidth - COLS.price.x);
  taxTotals(doc, fmt, note.net, note.taxLines, note.gross, 'Total credited');
  notesBlock(doc, note.notes);
  footer(doc, `Content SHA-256: ${note.contentHash ?? '—'}`);
  doc.end();
  return done;
}

/**
 * The per-resource breakdown table. A function of its own: the resource columns (names, images)
 * change independently of the rest of the page.
 */
export function resourceTable(
  doc: PDFKit.PDFDocument,
  invoice: InvoiceDocument,
  ensure: (height: number) => void,
): void {
  if (invoice.resources.length === 0) return;
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  ensure(60);
  doc.moveDown(1);
  sectionTitle(doc, 'Usage by resource', left, contentWidth);
  const cols = {
    resource: { x: 0, w: 190 },
    kind: { x: 195, w: 55 },
    cpu: { x: 250, w: 70 },
    memory: { x: 320, w: 75 },
    share: { x: 400, w: 45 },
    amount: { x: 445, w: 50 },
  };
  tableHeader(doc, left, [
    ['Resource', cols.resource, 'left'],
    ['Kind', cols.kind, 'left'],
    ['vCPU-hours', cols.cpu, 'right'],
    ['GiB-hours', cols.memory, 'right'],
    ['Complete', cols.share, 'right'],
    ['Share', cols.amount, 'right'],
  ]);
  for (const r of invoice.resources) {
    ensure(16);
    const y = doc.y;
    doc.font(FONT).fontSize(8.5).fillColor(INK);
    // The name beside a short id (domain/resource-label.ts); the whole id when unnamed. A long
    // name is cut before the id, so the id that tells similar names apart always shows.
    const label = fittedResourceLabel(r, (t) => doc.widthOfString(t) <= cols.resource.w);
    doc.text(label, left + cols.resource.x, y, {
      width: cols.resource.w,
      lineBreak: false,
      ellipsis: true,
    });
    doc.text(r.resourceKind, left + cols.kind.x, y, { width: cols.kind.w });
    doc.text(short(r.cpu.quantity), left + cols.cpu.x, y, { width: cols.cpu.w, align: 'right' });
    doc.text(short(r.memory.quantity), left + cols.memory.x, y, {
      width: cols.memory.w,
      align: 'right',
    });
    doc.text(
      r.completeness === null ? '—' : `${(Number(r.completeness) * 100).toFixed(1)}%`,
      left + cols.share.x,
      y,
      { width: cols.share.w, align: 'right' },
    );
    doc.text(r.amount, left + cols.amount.x, y, { width: cols.amount.w, align: 'right' });
    doc.y = y + 13;
  }
  doc
    .font(FONT)
    .fontSize(7.5)
    .fillColor(MUTED)
    .text(
      'Share: each resource’s part of the charges in proportion to its quantity (informative; the lines above are billed).',
      left,
      doc.y + 2,
      { width: contentWidth },
    );
}

/** "2026-11" → "2026-11-30". */
function lastDayOf(period: string): string {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return `${period}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
}
