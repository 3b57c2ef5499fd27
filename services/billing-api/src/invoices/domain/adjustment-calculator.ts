import { Money, sumMoney } from '@metering/money';
import { type InvoiceDocument, type InvoiceLine, type UsageTotals } from './invoice.model';

/** What a month charged for itself: its meter and minimum lines (not adjustments of others). */
export function ownCharge(invoice: InvoiceDocument): Money {
  return sumMoney(
    invoice.lines
      .filter((l) => l.meter !== 'adjustment')
      .map((l) => Money.parse(l.amount, invoice.currency)),
    invoice.currency,
  );
}

export interface Settlement {
  /** Everything billed for the month so far: its final invoice and every later adjustment. */
  readonly billed: Money;
  /** The ledger sums the latest of those was computed from. */
  readonly usageTotals: UsageTotals;
}

/**
 * What has been billed for a closed month `period`: its final invoice's own charge plus the
 * adjustment lines for it on later final invoices (`laterFinals`, any order).
 */
export function settlementOf(
  final: InvoiceDocument,
  laterFinals: readonly InvoiceDocument[],
): Settlement {
  let billed = ownCharge(final);
  let usageTotals = final.usageTotals;
  const later = [...laterFinals].sort((a, b) => a.period.localeCompare(b.period));
  for (const invoice of later) {
    for (const line of invoice.lines) {
      if (line.meter !== 'adjustment' || line.adjustsPeriod !== final.period) continue;
      billed = billed.add(Money.parse(line.amount, final.currency));
      if (line.usageTotals !== undefined) usageTotals = line.usageTotals;
    }
  }
  return { billed, usageTotals };
}

/**
 * The adjustment for a closed month: the month priced now (`repriced`, a fresh computation from
 * the ledger) minus what was already billed for it. Both sides are sums of rounded lines, so the
 * difference is exact in minor units and nothing is billed twice. Null when nothing changed.
 */
export function adjustmentLine(
  repriced: InvoiceDocument,
  settlement: Settlement,
): InvoiceLine | null {
  const delta = ownCharge(repriced).subtract(settlement.billed);
  if (delta.isZero()) return null;
  return {
    meter: 'adjustment',
    description: `Adjustment for ${repriced.period}: usage that arrived after it was closed`,
    quantity: '1',
    unit: 'adjustment',
    unitPrice: delta.toFixed(),
    amount: delta.toFixed(),
    adjustsPeriod: repriced.period,
    usageTotals: repriced.usageTotals,
  };
}
