import {
  byteSecondsToGibSeconds,
  Decimal,
  decimalToString,
  Money,
  SECONDS_PER_HOUR,
  sumDecimals,
  sumMoney,
} from '@metering/money';
import {
  type AllocationBasis,
  type CompletenessCounters,
  NO_COUNTERS,
  type PricePlan,
  addCounters,
  completenessShare,
  priceGraduated,
  shareToFixed,
  weightedShare,
  zoneOffsetMs,
} from '@metering/pricing';
import {
  type Completeness,
  type InvoiceDocument,
  type InvoiceLine,
  type InvoiceTenant,
  type Meter,
  type PlanSegment,
  type ResourceBreakdown,
  type SegmentUsage,
  type UsageTotals,
} from './invoice.model';

/** An adjustment already computed for an earlier, closed month (see adjustment-calculator.ts). */
export interface AdjustmentInput {
  readonly line: InvoiceLine;
}

export interface InvoiceInput {
  readonly tenant: InvoiceTenant;
  readonly period: string;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly segments: readonly PlanSegment[];
  readonly usage: readonly SegmentUsage[];
  readonly adjustments?: readonly InvoiceLine[];
}

const ZERO = new Decimal(0);
const QUANTITY_DECIMALS = 6;
const RATIO_DECIMALS = 4;

const UNIT = { cpu: 'vCPU-hour', memory: 'GiB-hour' } as const;
const LABEL = { cpu: 'CPU', memory: 'Memory' } as const;

/** The ledger column a plan basis prices, in unit-seconds (core-seconds or GiB-seconds). */
export function meterSeconds(row: SegmentUsage, meter: Meter, basis: AllocationBasis): Decimal {
  if (meter === 'cpu') {
    switch (basis) {
      case 'usage':
        return new Decimal(row.cpuUsageCoreSeconds);
      case 'allocation':
        return new Decimal(row.cpuAllocationCoreSeconds);
      case 'max':
        return new Decimal(row.cpuMaxCoreSeconds);
    }
  }
  switch (basis) {
    case 'usage':
      return byteSecondsToGibSeconds(row.memoryUsageByteSeconds);
    case 'allocation':
      return byteSecondsToGibSeconds(row.memoryAllocationByteSeconds);
    case 'max':
      return byteSecondsToGibSeconds(row.memoryMaxByteSeconds);
  }
}

/** Unit-seconds → unit-hours for display, 6 decimals; amounts never use this figure. */
export function displayHours(seconds: Decimal): string {
  return decimalToString(
    seconds.div(SECONDS_PER_HOUR).toDecimalPlaces(QUANTITY_DECIMALS, Decimal.ROUND_HALF_UP),
  );
}

/** The ledger's completeness counters of some rows, summed. */
export function countersOf(rows: readonly SegmentUsage[]): CompletenessCounters {
  let sum = NO_COUNTERS;
  for (const r of rows) {
    const c = r.completeness;
    sum = addCounters(sum, {
      observedMs: BigInt(r.observedMs),
      gapMs: BigInt(r.gapMs),
      inferredGapMs: BigInt(c?.inferredGapMs ?? '0'),
      samplesExpected: BigInt(c?.samplesExpected ?? '0'),
      samplesObserved: BigInt(c?.samplesObserved ?? '0'),
      samplesThinned: BigInt(c?.samplesThinned ?? '0'),
      declaredMs: BigInt(c?.declaredMs ?? '0'),
      declaredGapMs: BigInt(c?.declaredGapMs ?? '0'),
    });
  }
  return sum;
}

/**
 * The completeness of some rows with their counts pooled (one resource's rows: its share; the
 * invoice's rows: the share of all expected samples present).
 */
export function completenessOf(rows: readonly SegmentUsage[]): Completeness {
  const c = countersOf(rows);
  const share = completenessShare(c);
  return {
    observedMs: c.observedMs.toString(),
    gapMs: c.gapMs.toString(),
    inferredGapMs: c.inferredGapMs.toString(),
    samplesExpected: c.samplesExpected.toString(),
    samplesObserved: c.samplesObserved.toString(),
    samplesThinned: c.samplesThinned.toString(),
    ratio: share === null ? null : shareToFixed(share, RATIO_DECIMALS),
  };
}

/**
 * A meter line's figure: each resource's share weighted by its quantity on the line (the
 * usage-weighted share, libs/pricing weightedShare); null when the line has no resource.
 */
export function lineCompleteness(
  rows: readonly SegmentUsage[],
  meter: Meter,
  basis: AllocationBasis,
): string | null {
  const byResource = new Map<string, SegmentUsage[]>();
  for (const r of rows) byResource.set(r.resourceId, [...(byResource.get(r.resourceId) ?? []), r]);
  const share = weightedShare(
    [...byResource.values()].map((list) => ({
      weight: weightOf(sumDecimals(list.map((r) => meterSeconds(r, meter, basis)))),
      share: completenessShare(countersOf(list)),
    })),
  );
  return share === null ? null : shareToFixed(share, RATIO_DECIMALS);
}

/** A quantity as an integer weight (unit-seconds to 12 places: ample for weighing shares). */
function weightOf(seconds: Decimal): bigint {
  const scaled = seconds.times('1e12').toDecimalPlaces(0, Decimal.ROUND_DOWN);
  return scaled.isNegative() ? 0n : BigInt(scaled.toFixed(0));
}

export function usageTotalsOf(rows: readonly SegmentUsage[]): UsageTotals {
  const sum = (pick: (r: SegmentUsage) => string): string =>
    decimalToString(sumDecimals(rows.map(pick)));
  return {
    cpuUsageCoreSeconds: sum((r) => r.cpuUsageCoreSeconds),
    cpuAllocationCoreSeconds: sum((r) => r.cpuAllocationCoreSeconds),
    cpuMaxCoreSeconds: sum((r) => r.cpuMaxCoreSeconds),
    memoryUsageByteSeconds: sum((r) => r.memoryUsageByteSeconds),
    memoryAllocationByteSeconds: sum((r) => r.memoryAllocationByteSeconds),
    memoryMaxByteSeconds: sum((r) => r.memoryMaxByteSeconds),
    observedMs: sum((r) => r.observedMs),
    gapMs: sum((r) => r.gapMs),
  };
}

/** Numeric equality of every sum ("1.50" equals "1.5"). */
export function usageTotalsEqual(a: UsageTotals, b: UsageTotals): boolean {
  return (Object.keys(a) as (keyof UsageTotals)[]).every((k) =>
    new Decimal(a[k]).eq(new Decimal(b[k])),
  );
}

/** "2026-11-15 00:00" in the tenant's zone. */
export function localTime(ms: number, timeZone: string): string {
  const local = new Date(ms + zoneOffsetMs(timeZone, ms)).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 16)}`;
}

interface MeterLine {
  readonly segment: PlanSegment;
  readonly meter: Meter;
  readonly quantitySeconds: Decimal;
  readonly unrounded: Decimal;
  readonly line: InvoiceLine;
}

/**
 * The invoice of one tenant for one month, as a draft (no number, no hash). Pure: everything it
 * needs is in the input. Rules (docs/adr/0004-invoices.md):
 * - each segment of the month is priced by its plan version, with the ledger column of the
 *   plan's basis; graduated tiers apply to the month's cumulative quantity of the meter, which
 *   continues across segments (a segment starts in the tier the month had reached);
 * - each line is rounded once, half-up, to the currency's minor unit; subtotal and total are
 *   sums of rounded lines;
 * - the minimum commitment is prorated by time share of each segment's plan; when the subtotal is
 *   below it, a minimum line brings the month up to it.
 */
export function calculateInvoice(input: InvoiceInput): InvoiceDocument {
  const { tenant, segments, usage } = input;
  const currency = tenant.currency;
  const monthMs = new Decimal(input.periodEndMs - input.periodStartMs);
  const multiSegment = segments.length > 1;

  const rowsBySegment = new Map<number, SegmentUsage[]>();
  for (const row of usage) {
    const list = rowsBySegment.get(row.segmentIndex) ?? [];
    list.push(row);
    rowsBySegment.set(row.segmentIndex, list);
  }

  const position: Record<Meter, Decimal> = { cpu: ZERO, memory: ZERO };
  const meterLines: MeterLine[] = [];
  for (const segment of segments) {
    const plan = segment.plan;
    if (plan === null) continue;
    const rows = rowsBySegment.get(segment.index) ?? [];
    for (const meter of ['cpu', 'memory'] as const) {
      const tiers = plan[meter];
      if (tiers === null) continue;
      const seconds = sumDecimals(rows.map((r) => meterSeconds(r, meter, plan.basis)));
      const charge = priceGraduated(tiers, seconds, position[meter]);
      position[meter] = position[meter].plus(seconds);
      const flat = tiers.length === 1 ? tiers[0] : undefined;
      const when = multiSegment
        ? `, ${localTime(segment.fromMs, tenant.timeZone)} – ${localTime(segment.toMs, tenant.timeZone)}`
        : '';
      meterLines.push({
        segment,
        meter,
        quantitySeconds: seconds,
        unrounded: charge.amount,
        line: {
          meter,
          description: `${LABEL[meter]} (${plan.basis}), plan ${plan.id} v${plan.version}${when}`,
          quantity: displayHours(seconds),
          unit: UNIT[meter],
          quantitySeconds: decimalToString(seconds),
          unitPrice: flat === undefined ? null : decimalToString(flat.unitPrice),
          tiers: charge.tiers.map((t) => {
            const tier = tiers[t.tierIndex];
            return {
              tier: t.tierIndex + 1,
              upTo: tier?.upTo == null ? null : decimalToString(tier.upTo),
              unitPrice: decimalToString(t.unitPrice),
              quantity: decimalToString(t.quantityHours),
              amount: decimalToString(t.amount),
            };
          }),
          amount: Money.of(charge.amount, currency).toFixed(),
          planId: plan.id,
          planVersion: plan.version,
          basis: plan.basis,
          from: new Date(segment.fromMs).toISOString(),
          to: new Date(segment.toMs).toISOString(),
          completeness: lineCompleteness(rows, meter, plan.basis),
        },
      });
    }
  }

  const subtotal = sumMoney(
    meterLines.map((l) => Money.parse(l.line.amount, currency)),
    currency,
  );

  // The commitment of each plan counts for the share of the month it was in force.
  const prorated = Money.of(
    sumDecimals(
      segments.map((s) =>
        s.plan === null ? ZERO : s.plan.minimum.times(s.toMs - s.fromMs).div(monthMs),
      ),
    ),
    currency,
  ).roundToMinor();
  const lastPlan = [...segments].reverse().find((s) => s.plan !== null)?.plan ?? null;
  const lines: InvoiceLine[] = meterLines.map((l) => l.line);
  if (subtotal.lessThan(prorated)) {
    const shortfall = prorated.subtract(subtotal);
    lines.push({
      meter: 'minimum',
      description: `Minimum commitment ${prorated.toFixed()} ${currency}${
        prorated.equals(Money.of(lastPlan?.minimum ?? ZERO, currency).roundToMinor())
          ? ''
          : ' (prorated)'
      }, usage ${subtotal.toFixed()}`,
      quantity: '1',
      unit: 'month',
      unitPrice: prorated.toFixed(),
      amount: shortfall.toFixed(),
    });
  }
  const adjustments = [...(input.adjustments ?? [])].sort((a, b) =>
    (a.adjustsPeriod ?? '').localeCompare(b.adjustsPeriod ?? ''),
  );
  lines.push(...adjustments);
  const total = sumMoney(
    lines.map((l) => Money.parse(l.amount, currency)),
    currency,
  );

  return {
    tenantId: tenant.id,
    tenantName: tenant.name,
    period: input.period,
    timeZone: tenant.timeZone,
    periodStart: new Date(input.periodStartMs).toISOString(),
    periodEnd: new Date(input.periodEndMs).toISOString(),
    status: 'draft',
    number: null,
    currency,
    lines,
    resources: resourceBreakdown(segments, usage, meterLines, currency),
    subtotal: subtotal.toFixed(),
    minimum: {
      committed: Money.of(lastPlan?.minimum ?? ZERO, currency).toFixed(),
      prorated: prorated.toFixed(),
    },
    total: total.toFixed(),
    completeness: completenessOf(usage),
    usageTotals: usageTotalsOf(usage),
    issuedAt: null,
    contentHash: null,
  };
}

function resourceBreakdown(
  segments: readonly PlanSegment[],
  usage: readonly SegmentUsage[],
  meterLines: readonly MeterLine[],
  currency: string,
): ResourceBreakdown[] {
  const planOf = new Map<number, PricePlan | null>(segments.map((s) => [s.index, s.plan]));
  const byResource = new Map<string, SegmentUsage[]>();
  for (const row of usage) {
    const list = byResource.get(row.resourceId) ?? [];
    list.push(row);
    byResource.set(row.resourceId, list);
  }
  const lineOf = new Map(meterLines.map((l) => [`${l.segment.index}:${l.meter}`, l]));
  return [...byResource.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([resourceId, rows]) => {
      const seconds: Record<Meter, Decimal> = { cpu: ZERO, memory: ZERO };
      let amount = ZERO;
      for (const row of rows) {
        // Time without a plan is shown by usage; it is not charged.
        const basis = planOf.get(row.segmentIndex)?.basis ?? 'usage';
        for (const meter of ['cpu', 'memory'] as const) {
          const q = meterSeconds(row, meter, basis);
          seconds[meter] = seconds[meter].plus(q);
          const line = lineOf.get(`${row.segmentIndex}:${meter}`);
          if (line !== undefined && !line.quantitySeconds.isZero()) {
            amount = amount.plus(line.unrounded.times(q).div(line.quantitySeconds));
          }
        }
      }
      const first = rows[0];
      const name = first?.resourceName;
      return {
        resourceId,
        resourceKind: first === undefined ? 'container' : first.resourceKind,
        ...(name === undefined ? {} : { resourceName: name }),
        cpu: { quantity: displayHours(seconds.cpu), quantitySeconds: decimalToString(seconds.cpu) },
        memory: {
          quantity: displayHours(seconds.memory),
          quantitySeconds: decimalToString(seconds.memory),
        },
        amount: Money.of(amount, currency).toFixed(),
        completeness: completenessOf(rows).ratio,
      };
    });
}
