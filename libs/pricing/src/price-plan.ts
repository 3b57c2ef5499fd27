import { Decimal, SECONDS_PER_HOUR, toDecimal } from '@metering/money';
import { PricingError } from './pricing.errors';

export type AllocationBasis = 'usage' | 'allocation' | 'max';

/** One tier: the price per unit-hour up to a cumulative monthly quantity (null: no upper bound). */
export interface Tier {
  readonly upTo: Decimal | null;
  readonly unitPrice: Decimal;
}

export interface PricePlan {
  readonly id: string;
  readonly version: number;
  readonly currency: string;
  readonly basis: AllocationBasis;
  /** Per vCPU-hour; null: CPU is free (memory-only plans are the common choice). */
  readonly cpu: readonly Tier[] | null;
  /** Per GiB-hour; null: memory is free. */
  readonly memory: readonly Tier[] | null;
  /** Monthly minimum commitment. */
  readonly minimum: Decimal;
}

export interface TierInput {
  readonly upTo: string | null;
  readonly unitPrice: string;
}

/**
 * A plan version as the ledger stores it (a `price_plan` row, tiers as stored, the minimum as
 * exact text): what rating and billing both read before they price anything.
 */
export interface StoredPricePlan {
  readonly id: string;
  readonly version: number;
  readonly currency: string;
  readonly basis: AllocationBasis;
  readonly cpuTiers: readonly TierInput[] | null;
  readonly memoryTiers: readonly TierInput[] | null;
  readonly minimum: string;
}

/**
 * The one plan-row mapper of rating and billing: a stored plan version, validated again (tiers by
 * parseTiers, errors naming `price_plan <id>@<version> cpu|memory`) before it may price anything.
 */
export function pricePlanOfStored(row: StoredPricePlan): PricePlan {
  const field = (meter: string): string => `price_plan ${row.id}@${row.version} ${meter}`;
  return {
    id: row.id,
    version: row.version,
    currency: row.currency.trim(),
    basis: row.basis,
    cpu: row.cpuTiers === null ? null : parseTiers(field('cpu'), row.cpuTiers),
    memory: row.memoryTiers === null ? null : parseTiers(field('memory'), row.memoryTiers),
    minimum: toDecimal(row.minimum),
  };
}

/**
 * Tiers as the API gives them, checked: non-negative prices, strictly increasing positive upper
 * bounds, and only the last tier unbounded (so every quantity has a price).
 */
export function parseTiers(field: string, input: readonly TierInput[]): Tier[] {
  if (input.length === 0)
    throw new PricingError('PLAN_TIERS_INVALID', field, 'needs at least one tier');
  const tiers = input.map((t, i) => {
    const unitPrice = toDecimal(t.unitPrice);
    if (unitPrice.isNegative()) {
      throw new PricingError('PLAN_PRICE_INVALID', `${field}[${i}].unitPrice`, 'must be >= 0');
    }
    const upTo = t.upTo === null ? null : toDecimal(t.upTo);
    return { upTo, unitPrice };
  });
  let previous = new Decimal(0);
  tiers.forEach((t, i) => {
    const last = i === tiers.length - 1;
    if (t.upTo === null && !last) {
      throw new PricingError(
        'PLAN_TIERS_INVALID',
        `${field}[${i}].upTo`,
        'only the last tier may be unbounded',
      );
    }
    if (t.upTo !== null && last) {
      throw new PricingError(
        'PLAN_TIERS_INVALID',
        `${field}[${i}].upTo`,
        'the last tier must be unbounded (null)',
      );
    }
    if (t.upTo !== null) {
      if (t.upTo.lte(previous)) {
        throw new PricingError(
          'PLAN_TIERS_INVALID',
          `${field}[${i}].upTo`,
          'must be greater than the tier before',
        );
      }
      previous = t.upTo;
    }
  });
  return tiers;
}

export interface TierCharge {
  readonly tierIndex: number;
  /** Quantity in unit-hours charged in this tier (full precision). */
  readonly quantityHours: Decimal;
  readonly unitPrice: Decimal;
  /** Unrounded amount: rounding happens once, at invoice line level. */
  readonly amount: Decimal;
}

export interface GraduatedCharge {
  readonly amount: Decimal;
  readonly tiers: readonly TierCharge[];
}

/**
 * Graduated pricing of `quantitySeconds` (core-seconds or GiB-seconds) that comes after
 * `priorSeconds` of the same month: each part is priced by the tier its cumulative position falls
 * in. Works in unit-seconds (tier bounds × 3600, exact) and divides by 3600 once per tier, so the
 * only inexact step is a single division far below any minor unit.
 */
export function priceGraduated(
  tiers: readonly Tier[],
  quantitySeconds: Decimal,
  priorSeconds: Decimal = new Decimal(0),
): GraduatedCharge {
  const charges: TierCharge[] = [];
  let position = priorSeconds;
  const end = priorSeconds.plus(quantitySeconds);
  let lower = new Decimal(0);
  tiers.forEach((tier, tierIndex) => {
    const upper = tier.upTo === null ? null : tier.upTo.times(SECONDS_PER_HOUR);
    const from = Decimal.max(position, lower);
    const to = upper === null ? end : Decimal.min(end, upper);
    if (to.gt(from)) {
      const seconds = to.minus(from);
      charges.push({
        tierIndex,
        quantityHours: seconds.div(SECONDS_PER_HOUR),
        unitPrice: tier.unitPrice,
        amount: tier.unitPrice.times(seconds).div(SECONDS_PER_HOUR),
      });
      position = to;
    }
    if (upper !== null) lower = upper;
  });
  return { amount: charges.reduce((sum, c) => sum.plus(c.amount), new Decimal(0)), tiers: charges };
}
