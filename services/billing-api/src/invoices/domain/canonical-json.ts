import { createHash } from 'node:crypto';
import { type InvoiceDocument } from './invoice.model';
import { dueDateOf } from './tax-calculator';

/**
 * JSON with object keys sorted at every level and no whitespace; `undefined` members are left
 * out as JSON.stringify does. The same content always gives the same bytes, whatever order a
 * store (jsonb) gives the keys back in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('canonicalJson: not representable in JSON');
    return text;
  }
  if (Array.isArray(value))
    return `[${value.map((v: unknown) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * SHA-256 (hex) of the canonical JSON of the invoice with `contentHash` itself set to null and
 * without `creditNotes` (listed on reads, issued after the invoice).
 */
export function invoiceContentHash(invoice: InvoiceDocument): string {
  return sha256Hex(canonicalJson({ ...invoice, contentHash: null, creditNotes: undefined }));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The final form of a draft: numbered, dated, hashed. */
export function finalizeInvoice(
  draft: InvoiceDocument,
  number: string,
  issuedAtMs: number,
): InvoiceDocument {
  const final: InvoiceDocument = {
    ...draft,
    status: 'final',
    number,
    issuedAt: new Date(issuedAtMs).toISOString(),
    contentHash: null,
    ...(draft.paymentTermsDays === undefined
      ? {}
      : { dueDate: dueDateOf(issuedAtMs, draft.timeZone, draft.paymentTermsDays) }),
  };
  return { ...final, contentHash: invoiceContentHash(final) };
}

/** INV-2026-11-000001: period and a gap-free sequence within it. */
export function invoiceNumber(period: string, sequence: number): string {
  return `INV-${period}-${String(sequence).padStart(6, '0')}`;
}
