import { type Tier } from '@metering/pricing';
import {
  type AmountUnits,
  AMOUNT_SCALE,
  BYTES_PER_GIB,
  CPU_UNITS_PER_CORE_SECOND,
  MEMORY_UNITS_PER_BYTE_SECOND,
} from './exact-units';

/** Quantity units (exact-units.ts) in one unit-hour of each meter: a vCPU-hour, a GiB-hour. */
export const CPU_UNITS_PER_HOUR = 3600n * CPU_UNITS_PER_CORE_SECOND;
export const MEMORY_UNITS_PER_HOUR = 3600n * BYTES_PER_GIB * MEMORY_UNITS_PER_BYTE_SECOND;

const AMOUNT_ONE = 10n ** BigInt(AMOUNT_SCALE);
const TWICE_AMOUNT_ONE = 2n * AMOUNT_ONE;

interface Step {
  /** Lower bound in scaled quantity (units × 10^boundPlaces). */
  readonly lower: bigint;
  /** Upper bound; null for the last, unbounded tier. */
  readonly upper: bigint | null;
  /** Unit price × 10^pricePlaces. */
  readonly price: bigint;
  /** Σ of price × width of the tiers below: the numerator at `lower`. */
  readonly below: bigint;
}

/**
 * Graduated tiers (libs/pricing) priced in exact integer arithmetic.
 *
 * G(x), the graduated price of a month's cumulative quantity x, is a rational number N/D with
 * integers N and D; `priceAt(x)` is G(x) rounded half-up to 20 decimal places (AMOUNT_SCALE).
 * A part of the month's usage that moves the position from p to p + q costs
 * `priceAt(p + q) − priceAt(p)`. Because every part is a difference of the same rounded function,
 * the parts of a month add up to exactly `priceAt(month total)`, in whatever order and however
 * split they arrive (telescoping). 20 places keep the month total within 5·10^-21 of the exact
 * graduated price, far below any currency's minor unit, where rounding happens (invoice lines).
 * The exact value needs no division per part: 1/3600 has no finite decimal expansion, so pricing
 * each part separately with decimals would leave the parts a hair away from the whole.
 */
export class GraduatedTable {
  private readonly steps: readonly Step[];
  private readonly boundScale: bigint;
  private readonly denominator: bigint;
  /** 2 × denominator, for the half-up rounding (kept: priceAt runs per bucket segment). */
  private readonly twiceDenominator: bigint;

  /**
   * @param tiers validated tiers (libs/pricing parseTiers), bounds in unit-hours, prices per unit-hour
   * @param unitsPerHour quantity units in one unit-hour (CPU_UNITS_PER_HOUR, MEMORY_UNITS_PER_HOUR)
   */
  constructor(tiers: readonly Tier[], unitsPerHour: bigint) {
    const bounds = tiers.map((t) => (t.upTo === null ? null : fraction(t.upTo.toString())));
    const prices = tiers.map((t) => fraction(t.unitPrice.toString()));
    const boundPlaces = Math.max(0, ...bounds.map((b) => b?.places ?? 0));
    const pricePlaces = Math.max(0, ...prices.map((p) => p.places));
    this.boundScale = 10n ** BigInt(boundPlaces);
    const steps: Step[] = [];
    let lower = 0n;
    let below = 0n;
    tiers.forEach((_, i) => {
      const b = bounds[i] ?? null;
      const p = prices[i]!;
      // upTo unit-hours → quantity units × 10^boundPlaces: an integer by construction.
      const upper =
        b === null ? null : b.digits * 10n ** BigInt(boundPlaces - b.places) * unitsPerHour;
      const price = p.digits * 10n ** BigInt(pricePlaces - p.places);
      steps.push({ lower, upper, price, below });
      if (upper !== null) {
        below += price * (upper - lower);
        lower = upper;
      }
    });
    this.steps = steps;
    // G(x) = N / (10^pricePlaces × unitsPerHour × 10^boundPlaces)
    this.denominator = 10n ** BigInt(pricePlaces) * unitsPerHour * this.boundScale;
    this.twiceDenominator = 2n * this.denominator;
  }

  /** G(quantity) rounded half-up to 20 places, in amount units (10^-20). quantity ≥ 0. */
  priceAt(quantity: bigint): AmountUnits {
    if (quantity <= 0n) return 0n;
    // Integer tier bounds (the usual case) need no scaling: one bigint fewer per call.
    const x = this.boundScale === 1n ? quantity : quantity * this.boundScale;
    let numerator = 0n;
    for (const step of this.steps) {
      if (step.upper === null || x <= step.upper) {
        numerator = step.below + step.price * (x - step.lower);
        break;
      }
    }
    // round half up of numerator × 10^20 / denominator (both non-negative):
    // (2·n·10^20 + d) / (2·d), with 2·10^20 and 2·d computed once.
    return (numerator * TWICE_AMOUNT_ONE + this.denominator) / this.twiceDenominator;
  }

  /** The price of `quantity` after `prior` of the same month: priceAt(prior+q) − priceAt(prior). */
  priceIncrement(quantity: bigint, prior: bigint): AmountUnits {
    return this.priceAt(prior + quantity) - this.priceAt(prior);
  }
}

/** A plain non-negative decimal string as digits / 10^places. */
function fraction(text: string): { digits: bigint; places: number } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (m === null) throw new RangeError(`"${text}" is not a non-negative plain decimal`);
  const places = (m[2] ?? '').replace(/0+$/, '');
  return { digits: BigInt((m[1] ?? '0') + places), places: places.length };
}
