import PDFDocument from 'pdfkit';
import { Decimal, minorUnitsOf } from '@metering/money';
import {
  type BuyerDetails,
  type CreditNoteDocument,
  type InvoiceDocument,
  type InvoiceLine,
  localDate,
  fittedResourceLabel,
  type SellerDetails,
  type TaxLine,
} from '../domain';
import { type InvoiceAssets } from '../invoice-assets';
import { completenessText } from './completeness-text';

/** Daily usage for the chart, in unit-hours. Numbers only place bars: amounts never pass here. */
export interface DailyUsagePoint {
  readonly day: string;
  readonly cpuHours: number;
  readonly memoryGibHours: number;
}

export interface PdfOptions {
  readonly providerName: string;
  readonly daily: readonly DailyUsagePoint[];
  /** Font, logo, and the seller for invoices finalised before they carried one. */
  readonly assets: InvoiceAssets;
}

const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const INK = '#1f2933';
const MUTED = '#6b7785';
const ACCENT = '#2563eb';
const ACCENT_2 = '#0d9488';
const RULE = '#d5dbe1';
/**
 * Text in the standard fonts' repertoire (WinAnsi: Latin-1 and a few typographic marks) is set in
 * Helvetica, which needs no embedding; any other text (Greek, Cyrillic, CJK names, the narrow
 * no-break space of some locales) in the embedded Unicode font, subset by pdfkit/fontkit to the
 * glyphs used. Setting every word in the Unicode font cost ~60 ms a document (shaping and
 * subsetting) against ~9 ms: a 1,000-tenant close renders 1,000 PDFs.
 */
const FONT = 'regular';
const BOLD = 'bold';
const ITALIC = 'italic';
const UNICODE = 'unicode';
const WIN_ANSI = /^[\n\x20-\x7e\u00a0-\u00ff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]*$/u;

/** Columns of the lines table: x offset and width from the left margin. */
const COLS = {
  description: { x: 0, w: 215 },
  quantity: { x: 220, w: 75 },
  unit: { x: 300, w: 55 },
  price: { x: 360, w: 60 },
  amount: { x: 420, w: 75 },
};

/**
 * A one-invoice PDF: seller and buyer, number, issue and due dates, the lines with their tiers,
 * net, tax lines and gross, the notes tax law requires, payment details, a bar chart of daily
 * usage and the per-resource breakdown (its own function, `resourceTable`). Amounts and dates
 * are formatted for the invoice's locale; text stays extractable (pdftotext).
 *
 * Long because: one page layout, top to bottom; the helpers below it are shared with the credit
 * note (`renderCreditNotePdf`).
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
  header(doc, { ...options, daily: [] }, 'CREDIT NOTE', note.number);
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

/** Amounts, numbers and dates in one locale; amounts pass as exact decimal strings. */
export interface Formatter {
  money(amount: string): string;
  number(value: string): string;
  percent(ratio: string): string;
  date(day: string): string;
}

const formatters = new Map<string, Formatter>();

/** Whether the Unicode font has a glyph for every character of `text`. */
function printable(assets: InvoiceAssets): (text: string) => boolean {
  const font = assets.font.font;
  return (text) => [...text].every((c) => font.hasGlyphForCodePoint(c.codePointAt(0) ?? 0));
}

/**
 * Formatters are costly to build (ICU data) and immutable: one per locale and currency (the
 * process has one Unicode font, so whether a symbol prints does not change).
 */
export function formatterFor(
  locale: string,
  currency: string,
  canPrint: (text: string) => boolean = () => true,
): Formatter {
  const key = `${locale}\u0000${currency}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = buildFormatter(locale, currency, canPrint);
    if (formatters.size > 1000) formatters.clear();
    formatters.set(key, formatter);
  }
  return formatter;
}

function buildFormatter(
  locale: string,
  currency: string,
  canPrint: (text: string) => boolean,
): Formatter {
  const digits = minorUnitsOf(currency);
  const moneyAs = (currencyDisplay: 'symbol' | 'code') =>
    new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      currencyDisplay,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  // A symbol neither font can draw (₹, ₽, ₩ are not in the Unicode font) would print as a
  // blank: the ISO code is printed instead ("INR 39.79").
  const symbol = moneyAs('symbol')
    .formatToParts(0)
    .filter((p) => p.type === 'currency')
    .map((p) => p.value)
    .join('');
  const money = WIN_ANSI.test(symbol) || canPrint(symbol) ? moneyAs('symbol') : moneyAs('code');
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
  const percent = new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 0,
    maximumFractionDigits: 4,
  });
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
  // fr-FR and others group with U+202F (narrow no-break space), which neither Helvetica nor the
  // Unicode font has: it is printed as U+00A0, which both have.
  const narrow = (s: string) => s.replace(/\u202f/g, '\u00a0');
  return {
    // Strings are formatted exactly (ECMA-402 v3): no detour through binary floating point.
    money: (amount) => narrow(money.format(amount as Intl.StringNumericLiteral)),
    number: (value) => narrow(number.format(value as Intl.StringNumericLiteral)),
    percent: (ratio) => narrow(percent.format(ratio as Intl.StringNumericLiteral)),
    date: (day) => narrow(date.format(Date.parse(`${day}T00:00:00Z`))),
  };
}

function openDocument(
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

function ensureSpace(doc: PDFKit.PDFDocument): (height: number) => void {
  const bottom = PAGE.height - PAGE.margin - 30;
  return (height) => {
    if (doc.y + height > bottom) doc.addPage();
  };
}

function header(
  doc: PDFKit.PDFDocument,
  options: PdfOptions,
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

function sampleMark(doc: PDFKit.PDFDocument): void {
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

function buyerOf(invoice: InvoiceDocument): BuyerDetails {
  return invoice.buyer ?? emptyBuyer(invoice.tenantName);
}

function emptyBuyer(name: string): BuyerDetails {
  return { legalName: name, address: [], taxId: null, email: null };
}

/** "From" and "Bill to" side by side. */
function parties(
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

function metaTable(doc: PDFKit.PDFDocument, meta: readonly [string, string][]): void {
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

/** Net, one row per tax line, and the gross (when the invoice carries tax details). */
function taxTotals(
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

function notesBlock(doc: PDFKit.PDFDocument, notes: readonly string[]): void {
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

function paymentBlock(
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

function footer(doc: PDFKit.PDFDocument, text: string): void {
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

type Col = { x: number; w: number };

function sectionTitle(doc: PDFKit.PDFDocument, title: string, left: number, width: number): void {
  doc.font(BOLD).fontSize(12).fillColor(INK).text(title, left, doc.y);
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
  doc.font(BOLD).fontSize(8.5).fillColor(MUTED);
  for (const [label, col, align] of cols) doc.text(label, left + col.x, y, { width: col.w, align });
  doc.y = y + 14;
}

function lineRow(doc: PDFKit.PDFDocument, left: number, line: InvoiceLine, fmt: Formatter): void {
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

function totalRow(
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
    .font(FONT)
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
  doc.font(FONT).fontSize(6.5).fillColor(MUTED);
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
