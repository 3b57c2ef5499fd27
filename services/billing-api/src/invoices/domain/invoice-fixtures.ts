import { Decimal } from '@metering/money';
import { parseTiers, periodBounds, type PricePlan, type TierInput } from '@metering/pricing';
import { calculateInvoice } from './invoice-calculator';
import {
  type InvoiceDocument,
  type InvoiceLine,
  type PlanAssignment,
  type SegmentUsage,
} from './invoice.model';
import { planSegments } from './plan-segments';

/** Builders shared by the domain specs (not used by production code). */
export function plan(
  id: string,
  options: {
    version?: number;
    basis?: PricePlan['basis'];
    cpu?: TierInput[] | null;
    memory?: TierInput[] | null;
    minimum?: string;
  },
): PricePlan {
  return {
    id,
    version: options.version ?? 1,
    currency: 'EUR',
    basis: options.basis ?? 'usage',
    cpu: options.cpu == null ? null : parseTiers('cpu.tiers', options.cpu),
    memory: options.memory == null ? null : parseTiers('memory.tiers', options.memory),
    minimum: new Decimal(options.minimum ?? '0'),
  };
}

export const GIB = new Decimal(2).pow(30);

/** A usage row: quantities in vCPU-hours and GiB-hours for readability. */
export function usageRow(
  segmentIndex: number,
  resourceId: string,
  cpuHours: string,
  memoryGibHours: string,
  extra: Partial<SegmentUsage> = {},
): SegmentUsage {
  const cpu = new Decimal(cpuHours).times(3600).toString();
  const mem = new Decimal(memoryGibHours).times(3600).times(GIB).toString();
  return {
    segmentIndex,
    resourceId,
    resourceKind: 'container',
    cpuUsageCoreSeconds: cpu,
    cpuAllocationCoreSeconds: cpu,
    cpuMaxCoreSeconds: cpu,
    memoryUsageByteSeconds: mem,
    memoryAllocationByteSeconds: mem,
    memoryMaxByteSeconds: mem,
    observedMs: '3600000',
    gapMs: '0',
    ...extra,
  };
}

export function invoiceFor(
  period: string,
  assignments: PlanAssignment[],
  usage: (segments: number) => SegmentUsage[],
  options: { timeZone?: string; currency?: string; adjustments?: InvoiceLine[] } = {},
): InvoiceDocument {
  const timeZone = options.timeZone ?? 'UTC';
  const { startMs, endMs } = periodBounds(period, timeZone);
  const segments = planSegments(startMs, endMs, timeZone, assignments);
  return calculateInvoice({
    tenant: { id: 'acme', name: 'Acme', timeZone, currency: options.currency ?? 'EUR' },
    period,
    periodStartMs: startMs,
    periodEndMs: endMs,
    segments,
    usage: usage(segments.length),
    adjustments: options.adjustments ?? [],
  });
}
