import { createHash } from 'node:crypto';
import { z } from 'zod';
import { boundedText, currencyCode, timestamp } from './primitives.schema';
import { SCHEMA_VERSIONS } from './topics';

/**
 * The limits of an event on `billing.invoices.v1`. They bound what one message can make a
 * consumer (or a webhook receiver) store: ids are btree keys, amounts stay exact decimals of a
 * NUMERIC column, a whole event fits a webhook body and a Kafka record many times over.
 */
export const INVOICE_EVENT_LIMITS = {
  tenantIdBytes: 128,
  /** Invoice and credit-note numbers (`INV-2026-11-000001`). */
  numberBytes: 64,
  /** Webhook endpoint ids, reasons. */
  idBytes: 128,
  reasonBytes: 1024,
  urlBytes: 2048,
  /** Digits of an amount, sign and point not counted. */
  amountDigits: 40,
  /** A whole encoded event, checked before it is parsed. */
  maxEventBytes: 64 * 1024,
} as const;

export const INVOICE_EVENT_TYPES = [
  'invoice.drafted',
  'invoice.finalized',
  'credit_note.issued',
  'budget.threshold_reached',
  'webhook_endpoint.disabled',
] as const;
export type InvoiceEventType = (typeof INVOICE_EVENT_TYPES)[number];

/** An exact decimal (sign allowed: a credit or an adjustment may be negative), as libs/money prints. */
const amount = z
  .string()
  .regex(/^-?\d+(?:\.\d+)?$/, { error: 'must be a decimal string, e.g. "12.50" or "-3.10"' })
  .refine((v) => v.replace(/[-.]/g, '').length <= INVOICE_EVENT_LIMITS.amountDigits, {
    error: `must have at most ${INVOICE_EVENT_LIMITS.amountDigits} digits`,
  });
/** Greater than zero: budget thresholds and the amounts that reach them. */
const positiveAmount = amount.refine((v) => !v.startsWith('-') && /[1-9]/.test(v), {
  error: 'must be greater than zero',
});
const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'must be a month, YYYY-MM' });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' });
const tenantId = boundedText(INVOICE_EVENT_LIMITS.tenantIdBytes);
const documentNumber = boundedText(INVOICE_EVENT_LIMITS.numberBytes);

const invoiceData = z.looseObject({
  invoice: z.looseObject({
    period,
    /** null while drafted: numbers are taken when the month closes. */
    number: documentNumber.nullable(),
    currency: currencyCode,
    subtotal: amount,
    total: amount,
    /** SHA-256 of the final invoice's canonical JSON; null while drafted. */
    contentHash: sha256Hex.nullable(),
  }),
});

const base = {
  schema: z.literal(SCHEMA_VERSIONS.invoiceEvent),
  /** Stable (see invoiceEventIdOf): the same fact published again has the same id. */
  eventId: sha256Hex,
  occurredAt: timestamp,
};

/**
 * One fact about billing on `billing.invoices.v1` (key: tenant id, or `_provider` for facts of
 * the provider's own webhook endpoints). The same JSON is a webhook delivery's body.
 * Delivery is at least once: consumers dedupe by `eventId`.
 */
export const InvoiceEventSchema = z.discriminatedUnion('type', [
  z.looseObject({
    ...base,
    type: z.literal('invoice.drafted'),
    tenantId,
    data: invoiceData,
  }),
  z.looseObject({
    ...base,
    type: z.literal('invoice.finalized'),
    tenantId,
    data: invoiceData,
  }),
  z.looseObject({
    ...base,
    type: z.literal('credit_note.issued'),
    tenantId,
    data: z.looseObject({
      creditNote: z.looseObject({
        number: documentNumber,
        invoiceNumber: documentNumber,
        period,
        currency: currencyCode,
        total: amount,
      }),
    }),
  }),
  z.looseObject({
    ...base,
    type: z.literal('budget.threshold_reached'),
    tenantId,
    data: z.looseObject({
      /**
       * The month's draft amount (the invoice's net `total`) reached a threshold the tenant or
       * the provider set: once per threshold and month (the id is the tenant, the threshold and
       * the period).
       */
      budget: z.looseObject({
        thresholdId: boundedText(INVOICE_EVENT_LIMITS.idBytes),
        /** The threshold's amount. */
        threshold: positiveAmount,
        /** The draft's total when the crossing was seen (≥ threshold). */
        amount: positiveAmount,
        currency: currencyCode,
        period,
        crossedAt: timestamp,
      }),
    }),
  }),
  z.looseObject({
    ...base,
    type: z.literal('webhook_endpoint.disabled'),
    /** The endpoint's tenant; null for an endpoint the provider registered. */
    tenantId: tenantId.nullable(),
    data: z.looseObject({
      endpoint: z.looseObject({
        id: boundedText(INVOICE_EVENT_LIMITS.idBytes),
        url: boundedText(INVOICE_EVENT_LIMITS.urlBytes),
        reason: boundedText(INVOICE_EVENT_LIMITS.reasonBytes),
        failingSince: timestamp,
      }),
    }),
  }),
]);

export type InvoiceEvent = z.infer<typeof InvoiceEventSchema>;
export type InvoiceEventOf<T extends InvoiceEventType> = Extract<InvoiceEvent, { type: T }>;

/** Kafka key: the tenant id (per-tenant order), `_provider` for provider-level facts. */
export function invoiceEventKey(event: InvoiceEvent): string {
  return event.tenantId ?? '_provider';
}

/**
 * The event id: sha256 hex over the event type and what identifies the fact (tenant and period
 * of an invoice, a credit note's number, a budget's period and threshold...). Deterministic, so a
 * retried close, a replayed outbox row or a second instance doing the same work yields the same
 * id, and consumers count the fact once.
 */
export function invoiceEventIdOf(type: InvoiceEventType, identity: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([SCHEMA_VERSIONS.invoiceEvent, type, ...identity]), 'utf8')
    .digest('hex');
}
