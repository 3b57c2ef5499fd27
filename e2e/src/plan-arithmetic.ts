/**
 * The plan arithmetic of product.md, done again from scratch to check the invoices: exact
 * rationals over bigint, nothing from libs/money or libs/pricing (the services' own code), so a
 * mistake there cannot hide behind the same mistake here.
 *
 * - A meter's quantity in unit-hours is its exact unit-seconds / 3600.
 * - Graduated tiers: tier i prices the part of the month's quantity between the previous tier's
 *   `upTo` (0 for the first) and its own (`null`: no bound) at its unit price.
 * - Each line is rounded once to the currency's minor unit, half away from zero; subtotal and
 *   total are sums of rounded lines; a minimum line makes up a shortfall below the minimum.
 */

/** n / d, d > 0, kept reduced. */
export class Fraction {
  readonly n: bigint;
  readonly d: bigint;

  constructor(n: bigint, d = 1n) {
    if (d === 0n) throw new RangeError('division by zero');
    const sign = d < 0n ? -1n : 1n;
    const g = gcd(n < 0n ? -n : n, d < 0n ? -d : d) || 1n;
    this.n = (sign * n) / g;
    this.d = (sign * d) / g;
  }

  /** A decimal string ("-12.3450", "7", "1e-3" is refused): exact. */
  static parse(text: string): Fraction {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
    if (m === null) throw new RangeError(`"${text}" is not a plain decimal`);
    const fraction = m[3] ?? '';
    const n = BigInt(`${m[2] ?? '0'}${fraction}`) * (m[1] === '-' ? -1n : 1n);
    return new Fraction(n, 10n ** BigInt(fraction.length));
  }

  plus(o: Fraction): Fraction {
    return new Fraction(this.n * o.d + o.n * this.d, this.d * o.d);
  }

  minus(o: Fraction): Fraction {
    return new Fraction(this.n * o.d - o.n * this.d, this.d * o.d);
  }

  times(o: Fraction): Fraction {
    return new Fraction(this.n * o.n, this.d * o.d);
  }

  div(o: Fraction): Fraction {
    return new Fraction(this.n * o.d, this.d * o.n);
  }

  compare(o: Fraction): -1 | 0 | 1 {
    const l = this.n * o.d;
    const r = o.n * this.d;
    return l < r ? -1 : l > r ? 1 : 0;
  }

  min(o: Fraction): Fraction {
    return this.compare(o) <= 0 ? this : o;
  }

  max(o: Fraction): Fraction {
    return this.compare(o) >= 0 ? this : o;
  }

  /** Rounded to `places` decimals, half away from zero, as a fixed-point string. */
  toFixed(places: number): string {
    const scale = 10n ** BigInt(places);
    const negative = this.n < 0n;
    const abs = negative ? -this.n : this.n;
    // floor(abs * scale / d + 1/2) = floor((2 * abs * scale + d) / (2d))
    const units = (2n * abs * scale + this.d) / (2n * this.d);
    const digits = units.toString().padStart(places + 1, '0');
    const whole = digits.slice(0, digits.length - places);
    const frac = places > 0 ? `.${digits.slice(digits.length - places)}` : '';
    return `${negative && units !== 0n ? '-' : ''}${whole}${frac}`;
  }

  toNumber(): number {
    return Number(this.n) / Number(this.d);
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export interface TierSpec {
  readonly upTo: string | null;
  readonly unitPrice: string;
}

export interface MeterSpec {
  readonly tiers: readonly TierSpec[];
}

/** A price plan as posted to the billing API (product.md). */
export interface PlanSpec {
  readonly id: string;
  readonly currency: string;
  readonly basis: 'usage' | 'allocation' | 'max';
  readonly cpu?: MeterSpec | undefined;
  readonly memory?: MeterSpec | undefined;
  readonly minimum: string;
}

const SECONDS_PER_HOUR = new Fraction(3600n);

/** The graduated price of a month's quantity (unit-hours), unrounded. */
export function graduatedPrice(quantityHours: Fraction, tiers: readonly TierSpec[]): Fraction {
  let amount = new Fraction(0n);
  let lower = new Fraction(0n);
  for (const tier of tiers) {
    if (quantityHours.compare(lower) <= 0) break;
    const upper = tier.upTo === null ? quantityHours : Fraction.parse(tier.upTo);
    const inTier = quantityHours.min(upper).minus(lower).max(new Fraction(0n));
    amount = amount.plus(inTier.times(Fraction.parse(tier.unitPrice)));
    lower = upper;
  }
  return amount;
}

/** Minor-unit digits of a currency (ISO 4217 through Intl, not libs/money). */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits as number;
}

export interface ExpectedLine {
  readonly meter: 'cpu' | 'memory' | 'minimum';
  readonly amount: string;
}

export interface ExpectedInvoice {
  readonly lines: readonly ExpectedLine[];
  readonly subtotal: string;
  readonly total: string;
}

/**
 * What an invoice of one whole month under one plan must say, from its meters' exact quantities
 * (unit-seconds on the plan's basis, as the invoice states them in `quantitySeconds`).
 */
export function expectedInvoice(
  plan: PlanSpec,
  quantitySeconds: { readonly cpu: string; readonly memory: string },
): ExpectedInvoice {
  const digits = minorDigits(plan.currency);
  const lines: ExpectedLine[] = [];
  let subtotal = new Fraction(0n);
  for (const meter of ['cpu', 'memory'] as const) {
    const spec = plan[meter];
    if (spec === undefined) continue;
    const hours = Fraction.parse(quantitySeconds[meter]).div(SECONDS_PER_HOUR);
    const amount = graduatedPrice(hours, spec.tiers).toFixed(digits);
    lines.push({ meter, amount });
    subtotal = subtotal.plus(Fraction.parse(amount));
  }
  const minimum = Fraction.parse(Fraction.parse(plan.minimum).toFixed(digits));
  let total = subtotal;
  if (subtotal.compare(minimum) < 0) {
    const shortfall = minimum.minus(subtotal);
    lines.push({ meter: 'minimum', amount: shortfall.toFixed(digits) });
    total = minimum;
  }
  return { lines, subtotal: subtotal.toFixed(digits), total: total.toFixed(digits) };
}
