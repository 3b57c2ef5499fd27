import { Decimal, minorUnitsOf, Money, sumMoney } from '@metering/money';
import { canonicalJson, sha256Hex } from './canonical-json';
import { type InvoiceDocument } from './invoice.model';
import { type BuyerDetails, type SellerDetails, type TaxLine, type TaxPolicy } from './legal.model';
import { taxLinesOf, taxNotes } from './tax-calculator';

/** A line of the corrected invoice, credited by a net amount (positive, minor-unit digits). */
export interface CreditNoteLine {
  readonly lineIndex: number;
  readonly description: string;
  readonly amount: string;
}

/** A credit note as stored (final on creation) and returned. */
export interface CreditNoteDocument {
  readonly number: string;
  readonly invoiceNumber: string;
  readonly tenantId: string;
  readonly tenantName: string;
  readonly period: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly reason: string;
  readonly lines: readonly CreditNoteLine[];
  readonly taxLines: readonly TaxLine[];
  /** Positive amounts: what is credited back (net, tax, gross = net + tax). */
  readonly net: string;
  readonly tax: string;
  readonly gross: string;
  readonly notes: readonly string[];
  readonly seller?: SellerDetails;
  readonly buyer?: BuyerDetails;
  readonly locale?: string;
  readonly issuedAt: string;
  readonly contentHash: string | null;
}

export type CreditNoteRequest =
  | { readonly kind: 'full'; readonly reason: string }
  | {
      readonly kind: 'lines';
      readonly reason: string;
      readonly lines: readonly { readonly lineIndex: number; readonly amount: string }[];
    };

export type CreditNoteErrorCode =
  'INVOICE_NOT_FINAL' | 'CREDIT_LINE_INVALID' | 'CREDIT_EXCEEDS_REMAINING' | 'NOTHING_TO_CREDIT';

/** A credit note that cannot be made; `field` names the input at fault. */
export class CreditNoteError extends Error {
  constructor(
    readonly code: CreditNoteErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'CreditNoteError';
  }
}

/** CN-2026-000001: the year of issue and a gap-free sequence within it. */
export function creditNoteNumber(year: number, sequence: number): string {
  return `CN-${year}-${String(sequence).padStart(6, '0')}`;
}

/**
 * What each line of a final invoice can still be credited: its amount minus every earlier credit
 * note's amount for it. A negative line (an adjustment that gave money back) stays negative
 * until a full credit takes it along, so the sum over the lines is always the invoice's net minus
 * everything credited, and never below zero.
 */
export function remainingByLine(
  invoice: InvoiceDocument,
  previous: readonly CreditNoteDocument[],
): Money[] {
  const remaining = invoice.lines.map((l) => Money.parse(l.amount, invoice.currency));
  for (const note of previous) {
    for (const line of note.lines) {
      const r = remaining[line.lineIndex];
      if (r !== undefined) {
        remaining[line.lineIndex] = r.subtract(Money.parse(line.amount, invoice.currency));
      }
    }
  }
  return remaining;
}

function taxPolicyOf(invoice: InvoiceDocument): TaxPolicy {
  const line = invoice.taxLines?.[0];
  return line === undefined
    ? { ratePercent: null, exemptionReason: null }
    : { ratePercent: line.ratePercent, exemptionReason: line.exemptionReason };
}

/**
 * The credit note for a final invoice, before numbering. Tax is the invoice's rate on the
 * credited net, rounded once half-up; the note that credits the last remaining amount takes
 * exactly the tax not yet credited, so credited tax never drifts from the invoice's by a cent.
 */
export function buildCreditNote(
  invoice: InvoiceDocument,
  previous: readonly CreditNoteDocument[],
  request: CreditNoteRequest,
  issuedAtMs: number,
): Omit<CreditNoteDocument, 'number' | 'contentHash'> {
  if (invoice.status !== 'final' || invoice.number === null) {
    throw new CreditNoteError('INVOICE_NOT_FINAL', 'id', 'only a final invoice can be credited');
  }
  const currency = invoice.currency;
  const remaining = remainingByLine(invoice, previous);
  const credited: CreditNoteLine[] = [];
  const total = sumMoney(remaining, currency);
  if (request.kind === 'full') {
    if (total.isPositive()) {
      remaining.forEach((r, i) => {
        if (!r.isZero()) credited.push(lineOf(invoice, i, r));
      });
    }
    if (credited.length === 0) {
      throw new CreditNoteError(
        'NOTHING_TO_CREDIT',
        'id',
        `${invoice.number} has nothing left to credit`,
      );
    }
  } else {
    if (request.lines.length === 0) {
      throw new CreditNoteError('CREDIT_LINE_INVALID', 'lines', 'must hold at least one line');
    }
    const seen = new Set<number>();
    request.lines.forEach((l, k) => {
      const field = `lines[${k}]`;
      if (
        !Number.isInteger(l.lineIndex) ||
        l.lineIndex < 0 ||
        l.lineIndex >= invoice.lines.length
      ) {
        throw new CreditNoteError(
          'CREDIT_LINE_INVALID',
          `${field}.lineIndex`,
          `must be a line of ${invoice.number} (0…${invoice.lines.length - 1})`,
        );
      }
      if (seen.has(l.lineIndex)) {
        throw new CreditNoteError(
          'CREDIT_LINE_INVALID',
          `${field}.lineIndex`,
          `line ${l.lineIndex} is listed twice`,
        );
      }
      seen.add(l.lineIndex);
      const amount = parseCreditAmount(l.amount, currency, `${field}.amount`);
      const left = remaining[l.lineIndex] ?? Money.zero(currency);
      if (amount.greaterThan(left)) {
        // A negative line has nothing to credit on its own: "0", not its negative balance.
        throw new CreditNoteError(
          'CREDIT_EXCEEDS_REMAINING',
          `${field}.amount`,
          `${amount.toFixed()} ${currency} exceeds the ${left.isNegative() ? '0' : left.toFixed()} ${currency} line ${l.lineIndex} can still be credited`,
        );
      }
      credited.push(lineOf(invoice, l.lineIndex, amount));
    });
    credited.sort((a, b) => a.lineIndex - b.lineIndex);
    const asked = sumMoney(
      credited.map((l) => Money.parse(l.amount, currency)),
      currency,
    );
    if (asked.greaterThan(total)) {
      throw new CreditNoteError(
        'CREDIT_EXCEEDS_REMAINING',
        'lines',
        `${asked.toFixed()} ${currency} exceeds the ${total.isNegative() ? '0' : total.toFixed()} ${currency} ${invoice.number} can still be credited in total`,
      );
    }
  }

  const net = sumMoney(
    credited.map((l) => Money.parse(l.amount, currency)),
    currency,
  );
  const policy = taxPolicyOf(invoice);
  let taxLines = taxLinesOf(net, policy);
  const invoiceTax = Money.parse(invoice.tax ?? '0', currency);
  const creditedTax = sumMoney(
    previous.map((n) => Money.parse(n.tax, currency)),
    currency,
  );
  const leftAfter = total.subtract(net);
  if (leftAfter.isZero() && taxLines.length > 0) {
    // The last credit: exactly the tax not yet credited.
    taxLines = taxLines.map((t) => ({ ...t, amount: invoiceTax.subtract(creditedTax).toFixed() }));
  }
  const tax = sumMoney(
    taxLines.map((t) => Money.parse(t.amount, currency)),
    currency,
  );
  return {
    invoiceNumber: invoice.number,
    tenantId: invoice.tenantId,
    tenantName: invoice.tenantName,
    period: invoice.period,
    timeZone: invoice.timeZone,
    currency,
    reason: request.reason,
    lines: credited,
    taxLines,
    net: net.toFixed(),
    tax: tax.toFixed(),
    gross: net.add(tax).toFixed(),
    notes: taxNotes(taxLines),
    ...(invoice.seller === undefined ? {} : { seller: invoice.seller }),
    ...(invoice.buyer === undefined ? {} : { buyer: invoice.buyer }),
    ...(invoice.locale === undefined ? {} : { locale: invoice.locale }),
    issuedAt: new Date(issuedAtMs).toISOString(),
  };
}

/** Numbered and hashed (SHA-256 of its canonical JSON with the hash null), like invoices. */
export function finalizeCreditNote(
  draft: Omit<CreditNoteDocument, 'number' | 'contentHash'>,
  number: string,
): CreditNoteDocument {
  const note: CreditNoteDocument = { ...draft, number, contentHash: null };
  return { ...note, contentHash: creditNoteContentHash(note) };
}

export function creditNoteContentHash(note: CreditNoteDocument): string {
  return sha256Hex(canonicalJson({ ...note, contentHash: null }));
}

function lineOf(invoice: InvoiceDocument, index: number, amount: Money): CreditNoteLine {
  return {
    lineIndex: index,
    description: invoice.lines[index]?.description ?? '',
    amount: amount.toFixed(),
  };
}

const AMOUNT = /^\d{1,15}(\.\d{1,6})?$/;

/** A positive amount with at most the currency's minor-unit digits. */
function parseCreditAmount(text: string, currency: string, field: string): Money {
  if (typeof text !== 'string' || !AMOUNT.test(text)) {
    throw new CreditNoteError(
      'CREDIT_LINE_INVALID',
      field,
      'must be a positive decimal string such as "12.50"',
    );
  }
  const amount = Money.parse(text, currency);
  const digits = text.split('.')[1]?.length ?? 0;
  if (digits > minorUnitsOf(currency)) {
    throw new CreditNoteError(
      'CREDIT_LINE_INVALID',
      field,
      `has more decimals than ${currency} has (${minorUnitsOf(currency)})`,
    );
  }
  if (!amount.amount.greaterThan(new Decimal(0))) {
    throw new CreditNoteError('CREDIT_LINE_INVALID', field, 'must be greater than zero');
  }
  return amount;
}
