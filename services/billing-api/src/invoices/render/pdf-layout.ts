import PDFDocument from 'pdfkit';
import { type InvoiceAssets } from '../invoice-assets';

/**
 * The PDF's layout primitives, shared by the invoice and the credit note: page geometry, colours,
 * fonts (with the per-text choice of the standard or the Unicode font), and the rules, section
 * titles and table headers the pages are drawn with.
 */
export const PAGE = { width: 595.28, height: 841.89, margin: 50 };
export const INK = '#1f2933';
export const MUTED = '#6b7785';
export const ACCENT = '#2563eb';
export const ACCENT_2 = '#0d9488';
export const RULE = '#d5dbe1';
/**
 * Text in the standard fonts' repertoire (WinAnsi: Latin-1 and a few typographic marks) is set in
 * Helvetica, which needs no embedding; any other text (Greek, Cyrillic, CJK names, the narrow
 * no-break space of some locales) in the embedded Unicode font, subset by pdfkit/fontkit to the
 * glyphs used. Setting every word in the Unicode font cost ~60 ms a document (shaping and
 * subsetting) against ~9 ms: a 1,000-tenant close renders 1,000 PDFs.
 */
export const FONT = 'regular';
export const BOLD = 'bold';
export const ITALIC = 'italic';
const UNICODE = 'unicode';
export const WIN_ANSI = /^[\n\x20-\x7e\u00a0-\u00ff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]*$/u;

/** Columns of the lines table: x offset and width from the left margin. */
export const COLS = {
  description: { x: 0, w: 215 },
  quantity: { x: 220, w: 75 },
  unit: { x: 300, w: 55 },
  price: { x: 360, w: 60 },
  amount: { x: 420, w: 75 },
};

export type Col = { x: number; w: number };

export function openDocument(
  title: string,
  author: string,
  assets: InvoiceAssets,
): { doc: PDFKit.PDFDocument; done: Promise<Buffer> } {
  const doc = new PDFDocument({
    size: 'A4',
    bufferPages: true,
    margin: PAGE.margin,
    info: { Title: title, Author: author },
    // No default font: pdfkit would parse Helvetica's metrics for every document, unused.
    font: null as unknown as string,
  });
  doc.registerFont(FONT, 'Helvetica');
  doc.registerFont(BOLD, 'Helvetica-Bold');
  doc.registerFont(ITALIC, 'Helvetica-Oblique');
  // pdfkit takes a fontkit font as a source (it tests for `layout`): the one parsed at boot.
  doc.registerFont(UNICODE, assets.font.font as unknown as PDFKit.Mixins.PDFFontSource);
  chooseFontPerText(doc);
  doc.font(FONT);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  return { doc, done };
}

/**
 * `doc.font(name)` names the face wanted next; each `doc.text(value)` then sets it in that face
 * when the standard font can show every character, else in the Unicode font.
 */
function chooseFontPerText(doc: PDFKit.PDFDocument): void {
  const original = doc.font.bind(doc);
  const setFont = (name: string): PDFKit.PDFDocument => original(name);
  const setText = doc.text.bind(doc) as (...args: unknown[]) => PDFKit.PDFDocument;
  let face = FONT;
  const font = (name: string): PDFKit.PDFDocument => {
    face = name;
    return setFont(name);
  };
  const text = (value: unknown, ...rest: unknown[]): PDFKit.PDFDocument => {
    setFont(WIN_ANSI.test(String(value)) ? face : UNICODE);
    return setText(value, ...rest);
  };
  Object.assign(doc, { font, text });
}

export function ensureSpace(doc: PDFKit.PDFDocument): (height: number) => void {
  const bottom = PAGE.height - PAGE.margin - 30;
  return (height) => {
    if (doc.y + height > bottom) doc.addPage();
  };
}

export function sectionTitle(
  doc: PDFKit.PDFDocument,
  title: string,
  left: number,
  width: number,
): void {
  doc.font(BOLD).fontSize(12).fillColor(INK).text(title, left, doc.y);
  rule(doc, left, width);
  doc.moveDown(0.4);
}

export function rule(doc: PDFKit.PDFDocument, x: number, width: number): void {
  const y = doc.y + 2;
  doc
    .moveTo(x, y)
    .lineTo(x + width, y)
    .lineWidth(0.6)
    .strokeColor(RULE)
    .stroke();
  doc.y = y + 4;
}

export function tableHeader(
  doc: PDFKit.PDFDocument,
  left: number,
  cols: [string, Col, 'left' | 'right'][],
): void {
  const y = doc.y;
  doc.font(BOLD).fontSize(8.5).fillColor(MUTED);
  for (const [label, col, align] of cols) doc.text(label, left + col.x, y, { width: col.w, align });
  doc.y = y + 14;
}

/** At most 3 decimals for display: "12.345678" → "12.346". */
export function short(quantity: string): string {
  const [whole, fraction] = quantity.split('.');
  if (fraction === undefined || fraction.length <= 3) return quantity;
  return `${whole ?? '0'}.${fraction.slice(0, 3)}`;
}
