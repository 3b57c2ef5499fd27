import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServicePipeline } from '@metering/pipeline-harness';
import { type InvoiceJson, pdfToText } from '../billing-documents';
import { type AccessStatuses, type FinalDocuments, type TenantSetup } from './scenario.types';

// What the billing API says of a tenant: its invoice (draft or final) in each format, and who may
// read it.

function invoicePath(t: TenantSetup, format?: 'csv' | 'pdf'): string {
  return `/v1/tenants/${t.id}/invoices/${t.period}${format === undefined ? '' : `?format=${format}`}`;
}

export function readInvoice(pipeline: ServicePipeline, t: TenantSetup): Promise<InvoiceJson> {
  return pipeline.api<InvoiceJson>('GET', invoicePath(t));
}

/** The final invoice as JSON, CSV and PDF (its text), each also written to `outDir`. */
export async function finalDocuments(
  pipeline: ServicePipeline,
  t: TenantSetup,
  outDir: string,
): Promise<FinalDocuments> {
  const json = await readInvoice(pipeline, t);
  const csv = (await pipeline.request('GET', invoicePath(t, 'csv'))).text;
  const pdf = await pipeline.request('GET', invoicePath(t, 'pdf'));
  if (pdf.status !== 200) throw new Error(`PDF of ${t.id}: ${pdf.status} ${pdf.text}`);
  const base = join(outDir, `${t.id}-${t.period}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${base}.csv`, csv);
  writeFileSync(`${base}.pdf`, pdf.buffer);
  return { json, csv, pdfText: await pdfToText(`${base}.pdf`), pdfPath: `${base}.pdf` };
}

/** `t`'s key on its own invoice and on `other`'s; the admin key on `other`'s. */
export async function accessStatuses(
  pipeline: ServicePipeline,
  t: TenantSetup,
  other: TenantSetup,
): Promise<AccessStatuses> {
  return {
    own: (await pipeline.request('GET', invoicePath(t), { key: t.apiKey })).status,
    other: (await pipeline.request('GET', invoicePath(other), { key: t.apiKey })).status,
    admin: (await pipeline.request('GET', invoicePath(other))).status,
  };
}

/** One line of a live draft, for the progress log. */
export function describeDraft(draft: InvoiceJson): string {
  const lines = draft.lines
    .map((l) => `${l.meter} ${l.quantity} ${l.unit} = ${l.amount}`)
    .join(', ');
  return `${lines || 'no lines yet'}; total ${draft.total} ${draft.currency}`;
}
