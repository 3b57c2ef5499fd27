import { Decimal } from '@metering/money';
import { type FieldProblem } from '../common/billing.errors';
import { fieldName } from '../common/text-input';
import { REVERSE_CHARGE } from '../invoices/domain/legal.model';

/** The buyer's billing details of a tenant, as stored. */
export interface TenantBilling {
  readonly legalName: string | null;
  readonly address: readonly string[] | null;
  readonly taxId: string | null;
  readonly email: string | null;
  /** Percent, exact decimal string 0…100; null: no tax line on invoices. */
  readonly taxRate: string | null;
  readonly taxExemptionReason: string | null;
  readonly paymentTermsDays: number;
  readonly locale: string;
}

export const DEFAULT_BILLING: TenantBilling = {
  legalName: null,
  address: null,
  taxId: null,
  email: null,
  taxRate: null,
  taxExemptionReason: null,
  paymentTermsDays: 30,
  locale: 'en',
};

export type BillingPatch = { -readonly [K in keyof TenantBilling]?: TenantBilling[K] };

const FIELDS = [
  'legalName',
  'address',
  'taxId',
  'email',
  'taxRate',
  'taxExemptionReason',
  'paymentTermsDays',
  'locale',
] as const;

const RATE = /^\d{1,3}(\.\d{1,4})?$/;
const TAX_ID = /^[A-Za-z0-9][A-Za-z0-9 .\-/]{1,49}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

/**
 * A JSON merge patch (RFC 7396) of the billing details: a member set to null clears it (back to
 * its default), an absent member is kept. Every problem is reported with its field; text already
 * passed the control-character rule (text-input.guard.ts). Non-ASCII is welcome in names and
 * addresses.
 */
export function parseBillingPatch(body: unknown): {
  patch: BillingPatch;
  problems: FieldProblem[];
} {
  const problems: FieldProblem[] = [];
  const patch: BillingPatch = {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { patch, problems: [{ field: 'body', message: 'must be a JSON object' }] };
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      problems.push({
        field: fieldName(key),
        message: `is not a billing field (${FIELDS.join(', ')})`,
      });
    }
  }
  const text = (field: (typeof FIELDS)[number], max: number, pattern?: RegExp, hint?: string) => {
    const v = input[field];
    if (v === undefined) return undefined;
    if (v === null) return null;
    if (typeof v !== 'string') {
      problems.push({ field, message: 'must be a string or null' });
      return undefined;
    }
    const trimmed = v.trim();
    if (trimmed.length === 0 || [...trimmed].length > max) {
      problems.push({ field, message: `must be 1 to ${max} characters` });
      return undefined;
    }
    if (pattern !== undefined && !pattern.test(trimmed)) {
      problems.push({ field, message: hint ?? 'has an invalid format' });
      return undefined;
    }
    return trimmed;
  };

  const legalName = text('legalName', 200);
  if (legalName !== undefined) patch.legalName = legalName;
  const taxId = text(
    'taxId',
    50,
    TAX_ID,
    'must be 2 to 50 letters, digits, spaces, ".", "-" or "/"',
  );
  if (taxId !== undefined) patch.taxId = taxId;
  const email = text('email', 254, EMAIL, 'must be an e-mail address');
  if (email !== undefined) patch.email = email;
  const reason = text('taxExemptionReason', 200);
  if (reason !== undefined) patch.taxExemptionReason = reason;

  if (input.address !== undefined) {
    const v = input.address;
    if (v === null) patch.address = null;
    else if (!Array.isArray(v))
      problems.push({ field: 'address', message: 'must be an array of lines or null' });
    else if (v.length < 1 || v.length > 6)
      problems.push({ field: 'address', message: 'must hold 1 to 6 lines' });
    else {
      const lines: string[] = [];
      v.forEach((line: unknown, i) => {
        const field = `address[${i}]`;
        if (typeof line !== 'string') problems.push({ field, message: 'must be a string' });
        else if (line.trim().length === 0 || [...line].length > 200) {
          problems.push({ field, message: 'must be 1 to 200 characters' });
        } else lines.push(line.trim());
      });
      if (lines.length === v.length) patch.address = lines;
    }
  }

  if (input.taxRate !== undefined) {
    const v = input.taxRate;
    if (v === null) patch.taxRate = null;
    else if (typeof v !== 'string') {
      problems.push({
        field: 'taxRate',
        message: 'must be a decimal string such as "19" or "7.5" (percent), or null',
      });
    } else if (!RATE.test(v) || new Decimal(v).greaterThan(100)) {
      problems.push({
        field: 'taxRate',
        message: 'must be a percentage from "0" to "100" with at most 4 decimals',
      });
    } else patch.taxRate = new Decimal(v).toString();
  }

  if (input.paymentTermsDays !== undefined) {
    const v = input.paymentTermsDays;
    if (v === null) patch.paymentTermsDays = DEFAULT_BILLING.paymentTermsDays;
    else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 365) {
      problems.push({
        field: 'paymentTermsDays',
        message: 'must be a whole number of days from 0 to 365',
      });
    } else patch.paymentTermsDays = v;
  }

  if (input.locale !== undefined) {
    const v = input.locale;
    if (v === null) patch.locale = DEFAULT_BILLING.locale;
    else if (typeof v !== 'string' || v.length > 35) {
      problems.push({ field: 'locale', message: 'must be a BCP 47 language tag such as "de-DE"' });
    } else {
      const locale = canonicalLocale(v);
      if (locale === null) {
        problems.push({ field: 'locale', message: `is not a supported BCP 47 language tag: ${v}` });
      } else patch.locale = locale;
    }
  }
  return { patch, problems };
}

/** The rules that involve several fields, checked on the merged result. */
export function billingProblems(b: TenantBilling): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (b.taxExemptionReason !== null && (b.taxRate === null || !new Decimal(b.taxRate).isZero())) {
    problems.push({
      field: 'taxExemptionReason',
      message: 'is only allowed with taxRate "0" (an exemption explains a zero rate)',
    });
  }
  if (b.taxExemptionReason === REVERSE_CHARGE && b.taxId === null) {
    problems.push({
      field: 'taxId',
      message: 'is required for a reverse-charge invoice (the buyer’s VAT id)',
    });
  }
  return problems;
}

export function mergeBilling(current: TenantBilling, patch: BillingPatch): TenantBilling {
  const merged: { -readonly [K in keyof TenantBilling]: TenantBilling[K] } = { ...current };
  for (const key of FIELDS) {
    if (key in patch) (merged as Record<string, unknown>)[key] = patch[key];
  }
  return merged;
}

function canonicalLocale(tag: string): string | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (canonical === undefined) return null;
    return Intl.NumberFormat.supportedLocalesOf([canonical]).length === 1 ? canonical : null;
  } catch {
    return null;
  }
}
