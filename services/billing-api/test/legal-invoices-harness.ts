import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type InvoiceDocument } from '../src/invoices/domain';
import { type BillingHarness } from './billing-harness';

/**
 * What the legal-invoice specs share (billing-legal-details, billing-legal-invoices,
 * billing-credit-notes): the seller's settings and tenants they start from, the November close
 * with billing details set, and reading PDFs back as text.
 */
export const run = promisify(execFile);
export const OMEGA = 'Ωμέγα 株式会社';
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function pdfToText(pdf: Buffer): Promise<string> {
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  const file = join(mkdtempSync(join(tmpdir(), 'billing-legal-')), 'doc.pdf');
  writeFileSync(file, pdf);
  const { stdout } = await run('pdftotext', ['-layout', file, '-'], { timeout: 20_000 });
  return stdout;
}

/** GET a PDF and the JSON of an invoice, on `h`. */
export function documentsOf(h: BillingHarness): {
  getPdf: (path: string, key?: string) => Promise<Buffer>;
  invoiceJson: (tenant: string, period: string) => Promise<InvoiceDocument>;
} {
  async function getPdf(path: string, key?: string): Promise<Buffer> {
    const r = await h.call('GET', path, key === undefined ? {} : { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/pdf');
    return r.buffer;
  }

  const invoiceJson = async (tenant: string, period: string) => {
    const r = await h.call('GET', `/v1/tenants/${tenant}/invoices/${period}`);
    assert.equal(r.status, 200, r.text);
    return r.json as InvoiceDocument;
  };
  return { getPdf, invoiceJson };
}

/** Starts `h` with a seller, five tenants on one plan, and their November usage. */
export async function startWithSeller(h: BillingHarness): Promise<void> {
  await h.start({
    SELLER_LEGAL_NAME: 'Test Cloud GmbH',
    SELLER_ADDRESS: 'Hauptstraße 1|10115 Berlin|Germany',
    SELLER_TAX_ID: 'DE123456789',
    SELLER_IBAN: 'DE89370400440532013000',
    SELLER_BIC: 'COBADEFFXXX',
  });
  await h.plan({ id: 'one', cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] } });
  for (const [id, name] of [
    ['omega', OMEGA],
    ['rc', 'Reverse GmbH'],
    ['plain', 'Plain'],
    ['credit', 'Credit AG'],
    ['patchy', 'Patchy'],
  ] as const) {
    await h.tenant(id, 'EUR', 'UTC', name);
    await h.assign(id, 'one', '2025-01-01T00:00:00Z');
  }
  await h.bucket('omega', 'c1', '2025-11-03T00:00:00Z', '100');
  await h.bucket('rc', 'c1', '2025-11-03T00:00:00Z', '10');
  await h.bucket('plain', 'c1', '2025-11-03T00:00:00Z', '1');
  await h.bucket('credit', 'c1', '2025-11-03T00:00:00Z', '30');
  await h.bucket('credit', 'c2', '2025-11-04T00:00:00Z', '20');
}

/** Billing details for omega (de-DE, 19 %, 14 days), rc (reverse charge) and credit (20 %); November closed. */
export async function closeNovemberWithDetails(h: BillingHarness): Promise<void> {
  const { invoiceJson } = documentsOf(h);
  const omega = await h.call('PATCH', '/v1/tenants/omega', {
    body: {
      legalName: OMEGA,
      address: ['Тверская 1', 'Москва'],
      taxRate: '19',
      paymentTermsDays: 14,
      locale: 'de-DE',
    },
  });
  assert.equal(omega.status, 200, omega.text);
  const rc = await h.call('PATCH', '/v1/tenants/rc', {
    body: { taxId: 'ATU12345678', taxRate: '0', taxExemptionReason: 'reverse-charge' },
  });
  assert.equal(rc.status, 200, rc.text);
  const credit = await h.call('PATCH', '/v1/tenants/credit', { body: { taxRate: '20' } });
  assert.equal(credit.status, 200, credit.text);
  // The draft shows the details before the close.
  const draft = await invoiceJson('omega', '2025-11');
  assert.deepEqual(
    [draft.status, draft.net, draft.tax, draft.gross, draft.dueDate],
    ['draft', '100.00', '19.00', '119.00', null],
  );
  const close = await h.call('POST', '/v1/periods/2025-11/close');
  assert.equal(close.status, 200, close.text);
}
