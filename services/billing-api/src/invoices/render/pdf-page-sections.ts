import { type BuyerDetails, type InvoiceDocument, type SellerDetails } from '../domain';
import { type InvoiceAssets } from '../invoice-assets';
import { ACCENT, BOLD, FONT, INK, MUTED, PAGE } from './pdf-layout';

/**
 * The parts of a page around the figures, shared by the invoice and the credit note: the header
 * band, the sample mark, the parties, the table of facts (number, dates, period) and the footer
 * on every page.
 */
export function header(
  doc: PDFKit.PDFDocument,
  options: { readonly providerName: string; readonly assets: InvoiceAssets },
  title: string,
  subtitle: string,
): void {
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  doc.rect(0, 0, PAGE.width, 90).fill('#f1f5f9');
  let nameX = left;
  if (options.assets.logo !== null) {
    doc.image(options.assets.logo.bytes, left, 20, { fit: [120, 50] });
    nameX = left + 130;
  }
  doc
    .fillColor(ACCENT)
    .font(BOLD)
    .fontSize(18)
    .text(options.providerName, nameX, 32, { width: 250 });
  doc
    .fillColor(INK)
    .fontSize(22)
    .text(title, left + 250, 30, { width: contentWidth - 250, align: 'right' });
  doc
    .font(FONT)
    .fontSize(10)
    .fillColor(MUTED)
    .text(subtitle, left + 200, 58, { width: contentWidth - 200, align: 'right' });
  doc.y = 105;
}

export function sampleMark(doc: PDFKit.PDFDocument): void {
  const y = doc.y;
  doc
    .font(BOLD)
    .fontSize(11)
    .fillColor('#b91c1c')
    .text('SAMPLE – the seller is not configured (SELLER_*); not a valid invoice', PAGE.margin, y, {
      width: PAGE.width - 2 * PAGE.margin,
    });
  doc.moveDown(0.4);
}

export function buyerOf(invoice: InvoiceDocument): BuyerDetails {
  return invoice.buyer ?? emptyBuyer(invoice.tenantName);
}

export function emptyBuyer(name: string): BuyerDetails {
  return { legalName: name, address: [], taxId: null, email: null };
}

/** "From" and "Bill to" side by side. */
export function parties(
  doc: PDFKit.PDFDocument,
  seller: SellerDetails,
  buyer: BuyerDetails,
  tenantId: string,
): void {
  const half = (PAGE.width - 2 * PAGE.margin - 20) / 2;
  const top = doc.y;
  const block = (x: number, title: string, rows: string[]): number => {
    doc.font(FONT).fontSize(8.5).fillColor(MUTED).text(title, x, top, { width: half });
    doc.font(BOLD).fontSize(10).fillColor(INK);
    for (const row of rows) doc.text(row, x, doc.y, { width: half });
    return doc.y;
  };
  const sellerEnd = block(PAGE.margin, 'From', [
    seller.legalName,
    ...seller.address,
    `Tax ID: ${seller.taxId}`,
    ...(seller.email === null ? [] : [seller.email]),
  ]);
  const buyerEnd = block(PAGE.margin + half + 20, 'Bill to', [
    buyer.legalName ?? tenantId,
    ...buyer.address,
    ...(buyer.taxId === null ? [] : [`Tax ID: ${buyer.taxId}`]),
    ...(buyer.email === null ? [] : [buyer.email]),
    `Customer: ${tenantId}`,
  ]);
  doc.x = PAGE.margin;
  doc.y = Math.max(sellerEnd, buyerEnd) + 10;
}

export function metaTable(doc: PDFKit.PDFDocument, meta: readonly [string, string][]): void {
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  for (const [label, value] of meta) {
    const y = doc.y;
    doc.font(FONT).fontSize(9).fillColor(MUTED).text(label, left, y, { width: 110 });
    doc
      .font(FONT)
      .fontSize(10)
      .fillColor(INK)
      .text(value, left + 115, y, { width: contentWidth - 115 });
    doc.moveDown(0.25);
  }
}

export function footer(doc: PDFKit.PDFDocument, text: string): void {
  const left = PAGE.margin;
  const contentWidth = PAGE.width - 2 * PAGE.margin;
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    doc.font(FONT).fontSize(7).fillColor(MUTED);
    doc.text(text, left, PAGE.height - PAGE.margin - 10, {
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
}
