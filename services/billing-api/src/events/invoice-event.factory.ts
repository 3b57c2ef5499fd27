import { type InvoiceEventOf, invoiceEventIdOf, SCHEMA_VERSIONS } from '@metering/contracts';

/** What an invoice event says about its invoice (InvoiceDocument has these and more). */
export interface InvoiceFacts {
  readonly tenantId: string;
  readonly period: string;
  readonly number: string | null;
  readonly currency: string;
  readonly subtotal: string;
  readonly total: string;
  readonly contentHash: string | null;
}

/**
 * `invoice.drafted`: the month has ended and its invoice exists as a draft (the grace time for
 * late data is running); `invoice.finalized`: numbered, hashed, immutable. Each once per tenant
 * and month: the id is the type, the tenant and the period.
 */
export function invoiceDrafted(
  invoice: InvoiceFacts,
  occurredAtMs: number,
): InvoiceEventOf<'invoice.drafted'> {
  return invoiceEvent(
    'invoice.drafted',
    { ...invoice, number: null, contentHash: null },
    occurredAtMs,
  );
}

export function invoiceFinalized(
  invoice: InvoiceFacts,
  occurredAtMs: number,
): InvoiceEventOf<'invoice.finalized'> {
  return invoiceEvent('invoice.finalized', invoice, occurredAtMs);
}

function invoiceEvent<T extends 'invoice.drafted' | 'invoice.finalized'>(
  type: T,
  invoice: InvoiceFacts,
  occurredAtMs: number,
): InvoiceEventOf<T> {
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: invoiceEventIdOf(type, [invoice.tenantId, invoice.period]),
    type,
    occurredAt: new Date(occurredAtMs).toISOString(),
    tenantId: invoice.tenantId,
    data: { invoice: invoiceData(invoice) },
  } as InvoiceEventOf<T>;
}

/** What `credit_note.issued` says about its credit note (CreditNoteDocument has these and more). */
export interface CreditNoteFacts {
  readonly number: string;
  readonly invoiceNumber: string;
  readonly tenantId: string;
  readonly period: string;
  readonly currency: string;
  /** What is credited back, tax included. */
  readonly gross: string;
}

/** `credit_note.issued`: once per credit note (the id is the tenant and the note's number). */
export function creditNoteIssued(
  note: CreditNoteFacts,
  occurredAtMs: number,
): InvoiceEventOf<'credit_note.issued'> {
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: invoiceEventIdOf('credit_note.issued', [note.tenantId, note.number]),
    type: 'credit_note.issued',
    occurredAt: new Date(occurredAtMs).toISOString(),
    tenantId: note.tenantId,
    data: {
      creditNote: {
        number: note.number,
        invoiceNumber: note.invoiceNumber,
        period: note.period,
        currency: note.currency,
        total: note.gross,
      },
    },
  };
}

export interface DisabledEndpointFacts {
  readonly id: string;
  readonly tenantId: string | null;
  readonly url: string;
  readonly reason: string;
  readonly failingSinceMs: number;
}

/** `webhook_endpoint.disabled`: once per disabling (the id includes when failures began). */
export function webhookEndpointDisabled(
  endpoint: DisabledEndpointFacts,
  occurredAtMs: number,
): InvoiceEventOf<'webhook_endpoint.disabled'> {
  const failingSince = new Date(endpoint.failingSinceMs).toISOString();
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: invoiceEventIdOf('webhook_endpoint.disabled', [endpoint.id, failingSince]),
    type: 'webhook_endpoint.disabled',
    occurredAt: new Date(occurredAtMs).toISOString(),
    tenantId: endpoint.tenantId,
    data: {
      endpoint: { id: endpoint.id, url: endpoint.url, reason: endpoint.reason, failingSince },
    },
  };
}

function invoiceData(invoice: InvoiceFacts) {
  return {
    period: invoice.period,
    number: invoice.number,
    currency: invoice.currency,
    subtotal: invoice.subtotal,
    total: invoice.total,
    contentHash: invoice.contentHash,
  };
}

export interface BudgetCrossingFacts {
  readonly tenantId: string;
  readonly thresholdId: string;
  readonly threshold: string;
  readonly amount: string;
  readonly currency: string;
  readonly period: string;
  readonly crossedAtMs: number;
}

/** The id of `budget.threshold_reached`: once per tenant, threshold and month. */
export function budgetEventIdOf(tenantId: string, thresholdId: string, period: string): string {
  return invoiceEventIdOf('budget.threshold_reached', [tenantId, thresholdId, period]);
}

/** `budget.threshold_reached`: the month's draft amount reached a threshold. */
export function budgetThresholdReached(
  c: BudgetCrossingFacts,
): InvoiceEventOf<'budget.threshold_reached'> {
  const crossedAt = new Date(c.crossedAtMs).toISOString();
  return {
    schema: SCHEMA_VERSIONS.invoiceEvent,
    eventId: budgetEventIdOf(c.tenantId, c.thresholdId, c.period),
    type: 'budget.threshold_reached',
    occurredAt: crossedAt,
    tenantId: c.tenantId,
    data: {
      budget: {
        thresholdId: c.thresholdId,
        threshold: c.threshold,
        amount: c.amount,
        currency: c.currency,
        period: c.period,
        crossedAt,
      },
    },
  };
}
