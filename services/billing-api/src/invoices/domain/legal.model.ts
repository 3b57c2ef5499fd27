/** Who issues the invoice: from the configuration (SELLER_*), validated at boot. */
export interface SellerDetails {
  readonly legalName: string;
  readonly address: readonly string[];
  readonly taxId: string;
  readonly email: string | null;
  readonly bank: {
    readonly name: string | null;
    readonly iban: string;
    readonly bic: string | null;
  };
  /** True for the development sample: the PDF says so in large letters. */
  readonly sample: boolean;
}

/** Who is billed: the tenant's billing details (PATCH /v1/tenants/:id). Null fields are unset. */
export interface BuyerDetails {
  readonly legalName: string | null;
  readonly address: readonly string[];
  readonly taxId: string | null;
  readonly email: string | null;
}

/** The tenant's tax: a percentage (exact decimal string, 0…100) or none at all. */
export interface TaxPolicy {
  readonly ratePercent: string | null;
  /** Why the rate is zero (e.g. `reverse-charge`); only with a zero rate. */
  readonly exemptionReason: string | null;
}

export interface InvoiceBilling {
  readonly seller: SellerDetails;
  readonly buyer: BuyerDetails;
  readonly tax: TaxPolicy;
  readonly paymentTermsDays: number;
  /** BCP 47, for number, currency and date formatting on the PDF. */
  readonly locale: string;
}

/** One tax line: the rate applied to a base (the sum of rounded net lines). */
export interface TaxLine {
  readonly ratePercent: string;
  /** Net amount the rate applies to, in the currency's minor-unit digits. */
  readonly base: string;
  /** base × rate / 100, rounded once, half-up, to the minor unit. */
  readonly amount: string;
  readonly exemptionReason: string | null;
}

/** The reason code that prints the EU reverse-charge wording. */
export const REVERSE_CHARGE = 'reverse-charge';
export const REVERSE_CHARGE_NOTE =
  'Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).';
