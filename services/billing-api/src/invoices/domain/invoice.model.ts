import { type PricePlan } from '@metering/pricing';
import { type BuyerDetails, type SellerDetails, type TaxLine } from './legal.model';

/** The meters a plan prices, and the units an invoice states their quantities in. */
export type Meter = 'cpu' | 'memory';
export type LineKind = Meter | 'minimum' | 'adjustment';
export type LineUnit = 'vCPU-hour' | 'GiB-hour' | 'month' | 'adjustment';
export type InvoiceStatus = 'draft' | 'final';

export interface InvoiceTenant {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly currency: string;
}

/** A plan version assigned from an instant on (until the next assignment). */
export interface PlanAssignment {
  readonly effectiveFromMs: number;
  readonly plan: PricePlan;
}

/** A part of the month billed by one plan version (or by none: nothing is charged there). */
export interface PlanSegment {
  readonly index: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly plan: PricePlan | null;
}

/** The ledger's sums for one resource in one segment, in exact units. */
export interface SegmentUsage {
  readonly segmentIndex: number;
  readonly resourceId: string;
  readonly resourceKind: 'container' | 'vm';
  /** The resource's name in the ledger's dimension; null when unknown; absent: not looked up. */
  readonly resourceName?: string | null;
  readonly cpuUsageCoreSeconds: string;
  readonly cpuAllocationCoreSeconds: string;
  readonly cpuMaxCoreSeconds: string;
  readonly memoryUsageByteSeconds: string;
  readonly memoryAllocationByteSeconds: string;
  readonly memoryMaxByteSeconds: string;
  readonly observedMs: string;
  readonly gapMs: string;
  /**
   * The rest of the completeness counters (libs/pricing completeness.ts); absent (older callers):
   * zero, i.e. judged by time.
   */
  readonly completeness?: SegmentCompleteness;
}

/** Sums of the ledger's completeness counters, as decimal strings. */
export interface SegmentCompleteness {
  readonly inferredGapMs: string;
  readonly samplesExpected: string;
  readonly samplesObserved: string;
  readonly samplesThinned: string;
  readonly declaredMs: string;
  readonly declaredGapMs: string;
}

/** Sums of every ledger column over a month: equal sums mean no usage arrived since. */
export interface UsageTotals {
  readonly cpuUsageCoreSeconds: string;
  readonly cpuAllocationCoreSeconds: string;
  readonly cpuMaxCoreSeconds: string;
  readonly memoryUsageByteSeconds: string;
  readonly memoryAllocationByteSeconds: string;
  readonly memoryMaxByteSeconds: string;
  readonly observedMs: string;
  readonly gapMs: string;
}

export interface TierLine {
  readonly tier: number;
  readonly upTo: string | null;
  readonly unitPrice: string;
  /** Unit-hours in this tier, full precision. */
  readonly quantity: string;
  /** Unrounded: the line, not the tier, is rounded. */
  readonly amount: string;
}

export interface InvoiceLine {
  readonly meter: LineKind;
  readonly description: string;
  /** Unit-hours for meters (6 decimals, display only), "1" for minimum and adjustment lines. */
  readonly quantity: string;
  readonly unit: LineUnit;
  /** Exact quantity in unit-seconds (core-seconds, GiB-seconds) for meter lines. */
  readonly quantitySeconds?: string;
  /** The price per unit-hour when the plan's meter is flat (one tier); otherwise null. */
  readonly unitPrice: string | null;
  readonly tiers?: readonly TierLine[];
  /** Rounded once to the currency's minor unit, half-up. */
  readonly amount: string;
  readonly planId?: string;
  readonly planVersion?: number;
  readonly basis?: string;
  readonly from?: string;
  readonly to?: string;
  /**
   * The usage-weighted share of expected samples present across the line's resources (each
   * resource's share weighted by its quantity on the line); null when there were none.
   */
  readonly completeness?: string | null;
  readonly adjustsPeriod?: string;
  /** For adjustment lines: the adjusted month's ledger sums this line settles. */
  readonly usageTotals?: UsageTotals;
}

export interface ResourceMeterUsage {
  readonly quantity: string;
  readonly quantitySeconds: string;
}

export interface ResourceBreakdown {
  readonly resourceId: string;
  readonly resourceKind: 'container' | 'vm';
  /**
   * The name the collectors reported last (as at the invoice's computation; a final invoice keeps
   * the name it was closed with); null when unknown. Absent on invoices finalised before names.
   */
  readonly resourceName?: string | null;
  readonly cpu: ResourceMeterUsage;
  readonly memory: ResourceMeterUsage;
  /** The resource's share of the meter lines (by quantity), rounded for display only. */
  readonly amount: string;
  readonly completeness: string | null;
}

/**
 * The invoice's completeness (docs/product.md, "Completeness"): the share of expected samples
 * present over all its resources (their counts pooled), with what is behind it. Invoices stored
 * before these counts have only observedMs, gapMs and ratio.
 */
export interface Completeness {
  /** Time between samples, and silences longer than the gap limit (not billed as usage). */
  readonly observedMs: string;
  readonly gapMs: string;
  /** Unseen tails: resources that ended while their collector was down (inferred finals). */
  readonly inferredGapMs?: string;
  readonly samplesExpected?: string;
  readonly samplesObserved?: string;
  /** Samples a collector's spool dropped when full: missing, though their CPU is counted. */
  readonly samplesThinned?: string;
  readonly ratio: string | null;
}

/** An invoice as the API returns it and as it is stored once final. */
export interface InvoiceDocument {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly period: string;
  readonly timeZone: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly status: InvoiceStatus;
  readonly number: string | null;
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  readonly resources: readonly ResourceBreakdown[];
  readonly subtotal: string;
  readonly minimum: { readonly committed: string; readonly prorated: string };
  readonly total: string;
  readonly completeness: Completeness;
  /** The month's ledger sums the invoice was computed from. */
  readonly usageTotals: UsageTotals;
  readonly issuedAt: string | null;
  readonly contentHash: string | null;
  // Billing details (tax-calculator.ts, withBilling). Optional: invoices finalised before they
  // existed are stored, and hashed, without them.
  readonly seller?: SellerDetails;
  readonly buyer?: BuyerDetails;
  readonly locale?: string;
  readonly paymentTermsDays?: number;
  readonly taxLines?: readonly TaxLine[];
  /** = total (the sum of rounded lines); tax and gross = net + tax, minor-unit digits. */
  readonly net?: string;
  readonly tax?: string;
  readonly gross?: string;
  /** Wording the tax requires (reverse charge, exemption). */
  readonly notes?: readonly string[];
  /** Issue day in the tenant's zone + payment terms; null on drafts. */
  readonly dueDate?: string | null;
  /** Credit notes issued for a final invoice: listed on reads, never part of the content hash. */
  readonly creditNotes?: readonly CreditNoteSummary[];
}

export interface CreditNoteSummary {
  readonly number: string;
  readonly net: string;
  readonly tax: string;
  readonly gross: string;
  readonly reason: string;
  readonly issuedAt: string;
}
