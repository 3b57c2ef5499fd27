import PDFDocument from 'pdfkit';
import { Decimal } from '@metering/money';
import { type InvoiceDocument, type InvoiceLine, resourceLabel } from '../domain';

/** Daily usage for the chart, in unit-hours. Numbers only place bars: amounts never pass here. */
export interface DailyUsagePoint {
  readonly day: string;
  readonly cpuHours: number;
  readonly memoryGibHours: number;
}

export interface PdfOptions {
  readonly providerName: string;
  readonly daily: readonly DailyUsagePoint[];
}

const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const INK = '#1f2933';
const MUTED = '#6b7785';
const ACCENT = '#2563eb';
const ACCENT_2 = '#0d9488';
const RULE = '#d5dbe1';

/** Columns of the lines table: x offset and width from the left margin. */
const COLS = {
  description: { x: 0, w: 215 },
  quantity: { x: 220, w: 75 },
  unit: { x: 300, w: 55 },
  price: { x: 360, w: 60 },
  amount: { x: 420, w: 75 },
};

/**
 * A one-invoice PDF: provider and tenant, period and number, the lines with their tiers, totals,
 * a bar chart of daily usage drawn with pdfkit primitives, and the per-resource breakdown.
 * Standard PDF fonts only (nothing to install); text stays extractable (pdftotext).
 */
export function renderInvoicePdf(invoice: InvoiceDocument, options: PdfOptions): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    bufferPages: true,
    margin: PAGE.margin,
    info: {
      Title: `Invoice ${invoice.number ?? 'draft'} ${invoice.tenantId} ${invoice.period}`,
      Author: options.providerName,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  const bottom = PAGE.height - PAGE.margin - 30;
  const ensure = (height: number): void => {
    if (doc.y + height > bottom) doc.addPage();
  };

  // Header band.
  doc.rect(0, 0, PAGE.width, 90).fill('#f1f5f9');
  doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(20).text(options.providerName, left, 32, {
    width: 300,
  });
  doc
    .fillColor(INK)
    .fontSize(22)
    .text(invoice.status === 'final' ? 'INVOICE' : 'DRAFT INVOICE', left + 250, 30, {
      width: contentWidth - 250,
      align: 'right',
    });
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor(MUTED)
    .text(invoice.number ?? 'Not final: figures change while the month is open', left + 200, 58, {
      width: contentWidth - 200,
      align: 'right',
    });

  // Who and when.
  doc.y = 110;
  const meta: [string, string][] = [
    ['Invoice number', invoice.number ?? '—'],
    ['Status', invoice.status],
    ['Billed to', `${invoice.tenantName} (${invoice.tenantId})`],
    [
      'Period',
      `${invoice.period}: ${invoice.period}-01 to ${lastDayOf(invoice.period)} (${invoice.timeZone})`,
    ],
    ['Billing time zone', invoice.timeZone],
    ['Currency', invoice.currency],
    ['Issued', invoice.issuedAt === null ? '—' : invoice.issuedAt.slice(0, 10)],
  ];
  for (const [label, value] of meta) {
    const y = doc.y;
    doc.font('Helvetica').fontSize(9).fillColor(MUTED).text(label, left, y, { width: 110 });
    doc
      .font('Helvetica')
      .fontSize(10)
      .fillColor(INK)
      .text(value, left + 115, y, { width: contentWidth - 115 });
    doc.moveDown(0.25);
  }

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
    lineRow(doc, left, line, invoice.currency);
  }
  if (invoice.lines.length === 0) {
    doc
      .font('Helvetica-Oblique')
      .fontSize(9)
      .fillColor(MUTED)
      .text('No charges in this period.', left);
  }

  // Totals.
  ensure(70);
  doc.moveDown(0.5);
  rule(doc, left + COLS.price.x, contentWidth - COLS.price.x);
  totalRow(doc, left, 'Subtotal', `${invoice.subtotal} ${invoice.currency}`, false);
  // The committed minimum for reference (its shortfall, if any, is the `minimum` line above).
  if (!new Decimal(invoice.minimum.prorated).isZero()) {
    totalRow(
      doc,
      left,
      'Committed minimum',
      `${invoice.minimum.prorated} ${invoice.currency}`,
      false,
    );
  }
  totalRow(doc, left, 'Total', `${invoice.total} ${invoice.currency}`, true);
  doc.moveDown(0.3);
  const ratio = invoice.completeness.ratio;
  doc
    .font('Helvetica')
    .fontSize(8.5)
    .fillColor(MUTED)
    .text(
      ratio === null
        ? 'Data completeness: no metered time in this period.'
        : `Data completeness: ${(Number(ratio) * 100).toFixed(2)} % of metered time observed (gaps are not billed as usage).`,
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

  // Per-resource breakdown.
  if (invoice.resources.length > 0) {
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
      doc.font('Helvetica').fontSize(8.5).fillColor(INK);
      // The name beside a short id (domain/resource-label.ts); the whole id when unnamed.
      doc.text(resourceLabel(r), left + cols.resource.x, y, {
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
        {
          width: cols.share.w,
          align: 'right',
        },
      );
      doc.text(r.amount, left + cols.amount.x, y, { width: cols.amount.w, align: 'right' });
      doc.y = y + 13;
    }
    doc
      .font('Helvetica')
      .fontSize(7.5)
      .fillColor(MUTED)
      .text(
        'Share: each resource’s part of the charges in proportion to its quantity (informative; the lines above are billed).',
        left,
        doc.y + 2,
        { width: contentWidth },
      );
  }

  // Footer on every page.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const footer =
      invoice.contentHash === null
        ? 'Draft: no content hash until the period is closed.'
        : `Content SHA-256: ${invoice.contentHash}`;
    doc.font('Helvetica').fontSize(7).fillColor(MUTED);
    doc.text(footer, left, PAGE.height - PAGE.margin - 10, {
      width: contentWidth - 60,
      lineBreak: false,
    });
    doc.text(
      `Page ${i - range.start + 1} of ${range.count}`,
      left + contentWidth - 60,
      PAGE.height - PAGE.margin - 10,
      {
        width: 60,
        align: 'right',
        lineBreak: false,
      },
    );
  }
  doc.end();
  return done;
}

type Col = { x: number; w: number };

function sectionTitle(doc: PDFKit.PDFDocument, title: string, left: number, width: number): void {
  doc.font('Helvetica-Bold').fontSize(12).fillColor(INK).text(title, left, doc.y);
  rule(doc, left, width);
  doc.moveDown(0.4);
}

function rule(doc: PDFKit.PDFDocument, x: number, width: number): void {
  const y = doc.y + 2;
  doc
    .moveTo(x, y)
    .lineTo(x + width, y)
    .lineWidth(0.6)
    .strokeColor(RULE)
    .stroke();
  doc.y = y + 4;
}

function tableHeader(
  doc: PDFKit.PDFDocument,
  left: number,
  cols: [string, Col, 'left' | 'right'][],
): void {
  const y = doc.y;
  doc.font('Helvetica-Bold').fontSize(8.5).fillColor(MUTED);
  for (const [label, col, align] of cols) doc.text(label, left + col.x, y, { width: col.w, align });
  doc.y = y + 14;
}

function lineRow(doc: PDFKit.PDFDocument, left: number, line: InvoiceLine, currency: string): void {
  const y = doc.y;
  doc.font('Helvetica').fontSize(9).fillColor(INK);
  doc.text(line.description, left + COLS.description.x, y, { width: COLS.description.w });
  const afterDescription = doc.y;
  doc.text(short(line.quantity), left + COLS.quantity.x, y, {
    width: COLS.quantity.w,
    align: 'right',
  });
  doc.text(line.unit, left + COLS.unit.x, y, { width: COLS.unit.w });
  doc.text(line.unitPrice ?? (line.tiers !== undefined ? 'tiered' : ''), left + COLS.price.x, y, {
    width: COLS.price.w,
    align: 'right',
  });
  doc.font('Helvetica-Bold').text(`${line.amount} ${currency}`, left + COLS.amount.x, y, {
    width: COLS.amount.w,
    align: 'right',
  });
  doc.y = Math.max(afterDescription, y + 12);
  if (line.tiers !== undefined && line.unitPrice === null) {
    for (const t of line.tiers) {
      doc
        .font('Helvetica')
        .fontSize(7.5)
        .fillColor(MUTED)
        .text(
          `tier ${t.tier}${t.upTo === null ? ' (no upper bound)' : ` (up to ${t.upTo})`}: ${short(t.quantity)} × ${t.unitPrice}`,
          left + COLS.description.x + 10,
          doc.y,
          { width: COLS.description.w + 150 },
        );
    }
  }
  if (
    line.completeness !== undefined &&
    line.completeness !== null &&
    line.completeness !== '1.0000'
  ) {
    doc
      .font('Helvetica')
      .fontSize(7.5)
      .fillColor(MUTED)
      .text(
        `completeness ${(Number(line.completeness) * 100).toFixed(2)} %`,
        left + COLS.description.x + 10,
        doc.y,
      );
  }
  doc.y += 3;
}

function totalRow(
  doc: PDFKit.PDFDocument,
  left: number,
  label: string,
  value: string,
  strong: boolean,
): void {
  const y = doc.y;
  doc
    .font(strong ? 'Helvetica-Bold' : 'Helvetica')
    .fontSize(strong ? 12 : 9.5)
    .fillColor(INK);
  doc.text(label, left + COLS.unit.x, y, { width: COLS.unit.w + COLS.price.w });
  doc.text(value, left + COLS.amount.x - 30, y, { width: COLS.amount.w + 30, align: 'right' });
  doc.y = y + (strong ? 18 : 14);
}

function barChart(
  doc: PDFKit.PDFDocument,
  x: number,
  y: number,
  width: number,
  height: number,
  title: string,
  values: readonly number[],
  color: string,
  days: readonly DailyUsagePoint[],
): void {
  const max = Math.max(0, ...values);
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(MUTED)
    .text(`${title} (max ${short(max.toFixed(3))})`, x, y, { width });
  const plotTop = y + 14;
  const plotHeight = height - 14;
  doc
    .moveTo(x, plotTop + plotHeight)
    .lineTo(x + width, plotTop + plotHeight)
    .lineWidth(0.6)
    .strokeColor(RULE)
    .stroke();
  const slot = width / Math.max(values.length, 1);
  values.forEach((v, i) => {
    const h = max === 0 ? 0 : (v / max) * (plotHeight - 4);
    if (h > 0)
      doc.rect(x + i * slot + slot * 0.15, plotTop + plotHeight - h, slot * 0.7, h).fill(color);
  });
  doc.font('Helvetica').fontSize(6.5).fillColor(MUTED);
  days.forEach((d, i) => {
    const dayOfMonth = Number(d.day.slice(8, 10));
    if (i === 0 || dayOfMonth % 5 === 0) {
      doc.text(String(dayOfMonth), x + i * slot - 4, plotTop + plotHeight + 3, {
        width: slot + 8,
        align: 'center',
        lineBreak: false,
      });
    }
  });
}

/** At most 3 decimals for display: "12.345678" → "12.346". */
function short(quantity: string): string {
  const [whole, fraction] = quantity.split('.');
  if (fraction === undefined || fraction.length <= 3) return quantity;
  return `${whole ?? '0'}.${fraction.slice(0, 3)}`;
}

/** "2026-11" → "2026-11-30". */
function lastDayOf(period: string): string {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return `${period}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
}
