import { type InvoiceLine, type SellerDetails, type TaxLine } from '../domain';
import { type Formatter } from './invoice-formatter';
import { BOLD, COLS, FONT, INK, MUTED, PAGE, short } from './pdf-layout';

/**
 * The figures' rows: a charge line (with its tiers and completeness), the totals, the tax lines
 * and gross, the notes tax law requires, and the payment instruction.
 */
export function lineRow(
  doc: PDFKit.PDFDocument,
  left: number,
  line: InvoiceLine,
  fmt: Formatter,
): void {
  const y = doc.y;
  doc.font(FONT).fontSize(9).fillColor(INK);
  doc.text(line.description, left + COLS.description.x, y, { width: COLS.description.w });
  const afterDescription = doc.y;
  doc.text(fmt.number(short(line.quantity)), left + COLS.quantity.x, y, {
    width: COLS.quantity.w,
    align: 'right',
  });
  doc.text(line.unit, left + COLS.unit.x, y, { width: COLS.unit.w });
  doc.text(
    line.unitPrice === null
      ? line.tiers !== undefined
        ? 'tiered'
        : ''
      : fmt.number(line.unitPrice),
    left + COLS.price.x,
    y,
    {
      width: COLS.price.w,
      align: 'right',
    },
  );
  doc.font(BOLD).text(fmt.money(line.amount), left + COLS.amount.x, y, {
    width: COLS.amount.w,
    align: 'right',
  });
  doc.y = Math.max(afterDescription, y + 12);
  if (line.tiers !== undefined && line.unitPrice === null) {
    for (const t of line.tiers) {
      doc
        .font(FONT)
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
      .font(FONT)
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

export function totalRow(
  doc: PDFKit.PDFDocument,
  left: number,
  label: string,
  value: string,
  strong: boolean,
): void {
  const y = doc.y;
  doc
    .font(strong ? BOLD : FONT)
    .fontSize(strong ? 12 : 9.5)
    .fillColor(INK);
  doc.text(label, left + COLS.unit.x, y, { width: COLS.unit.w + COLS.price.w });
  doc.text(value, left + COLS.amount.x - 30, y, { width: COLS.amount.w + 30, align: 'right' });
  doc.y = y + (strong ? 18 : 14);
}

/** Net, one row per tax line, and the gross (when the invoice carries tax details). */
export function taxTotals(
  doc: PDFKit.PDFDocument,
  fmt: Formatter,
  net: string,
  taxLines: readonly TaxLine[] | undefined,
  gross: string | undefined,
  grossLabel = 'Total due',
): void {
  const left = PAGE.margin;
  if (taxLines === undefined || gross === undefined) {
    totalRow(doc, left, 'Total', fmt.money(net), true);
    return;
  }
  totalRow(doc, left, 'Net', fmt.money(net), false);
  for (const t of taxLines) {
    totalRow(doc, left, `Tax ${fmt.number(t.ratePercent)} %`, fmt.money(t.amount), false);
  }
  totalRow(doc, left, grossLabel, fmt.money(gross), true);
}

export function notesBlock(doc: PDFKit.PDFDocument, notes: readonly string[]): void {
  for (const note of notes) {
    doc
      .font(BOLD)
      .fontSize(9)
      .fillColor(INK)
      .text(note, PAGE.margin, doc.y + 2, {
        width: PAGE.width - 2 * PAGE.margin,
      });
  }
}

export function paymentBlock(
  doc: PDFKit.PDFDocument,
  seller: SellerDetails,
  gross: string,
  due: string | null,
  number: string | null,
): void {
  const bank = [
    `IBAN ${seller.bank.iban}`,
    ...(seller.bank.bic === null ? [] : [`BIC ${seller.bank.bic}`]),
    ...(seller.bank.name === null ? [] : [seller.bank.name]),
  ].join(' · ');
  const when = due === null ? '' : ` by ${due}`;
  const reference = number === null ? '' : `, reference ${number}`;
  doc
    .font(FONT)
    .fontSize(9)
    .fillColor(INK)
    .text(`Please pay ${gross}${when} to ${bank}${reference}.`, PAGE.margin, doc.y + 6, {
      width: PAGE.width - 2 * PAGE.margin,
    });
}
