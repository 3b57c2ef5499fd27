import { createHash } from 'node:crypto';
import { type InvoiceJson } from './billing-documents';
import { type TenantOutcome } from './scenario/scenario.types';

/** Issue 6: the invoice's CPU within 1 % of the kernel's own count, memory within 5 %. */
export const CPU_TOLERANCE = 0.01;
export const MEMORY_TOLERANCE = 0.05;

export interface Comparison {
  /** The kernel's (or libvirt's) figure, unit-seconds. */
  readonly kernel: number;
  /** The invoice's figure, unit-seconds. */
  readonly invoice: number;
  /** (invoice − kernel) / kernel. */
  readonly deviation: number;
}

function comparison(kernel: number, invoice: number): Comparison {
  return { kernel, invoice, deviation: kernel === 0 ? Infinity : (invoice - kernel) / kernel };
}

/**
 * A meter's exact quantity on the invoice, unit-seconds: its line when the plan prices it, else
 * the per-resource breakdown (a memory-only plan has no CPU line, the breakdown still shows it).
 */
export function invoiceSeconds(invoice: InvoiceJson, meter: 'cpu' | 'memory'): number {
  const line = invoice.lines.find((l) => l.meter === meter);
  if (line?.quantitySeconds !== undefined) return Number(line.quantitySeconds);
  return invoice.resources.reduce((s, r) => s + Number(r[meter].quantitySeconds), 0);
}

/** CPU core-seconds and memory GiB-seconds: kernel against invoice. */
export function kernelVersusInvoice(t: TenantOutcome): { cpu: Comparison; memory: Comparison } {
  return {
    cpu: comparison(t.kernel.cpuCoreSeconds, invoiceSeconds(t.draft, 'cpu')),
    memory: comparison(t.kernel.memoryGibSeconds, invoiceSeconds(t.draft, 'memory')),
  };
}

/** Keys sorted at every level, no whitespace (docs/adr/0004-invoices.md, decision 8). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content hash anyone can recompute from the invoice JSON they received. */
export function recomputedContentHash(invoice: InvoiceJson): string {
  return createHash('sha256')
    .update(canonicalJson({ ...invoice, contentHash: null }))
    .digest('hex');
}

export function percent(deviation: number): string {
  return `${deviation >= 0 ? '+' : '−'}${Math.abs(deviation * 100).toFixed(3)} %`;
}
