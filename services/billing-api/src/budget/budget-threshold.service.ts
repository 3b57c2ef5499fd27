import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { minorUnitsOf } from '@metering/money';
import { periodOf } from '@metering/pricing';
import { type Principal } from '../auth/principal';
import { ConflictError, NotFoundError, ValidationFailedError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import { fieldName } from '../common/text-input';
import { TenantService } from '../tenants/tenant.service';
import { BudgetThresholdRepository, type ThresholdRow } from './budget-threshold.repository';
import { checkThresholdAmount, MAX_THRESHOLDS_PER_TENANT } from './domain/budget-threshold.rules';

const THRESHOLD_ID = /^bt_[0-9a-f]{24}$/;

export interface ThresholdView {
  id: string;
  tenantId: string;
  /** In the tenant's currency, with its minor-unit digits. */
  amount: string;
  currency: string;
  createdBy: 'admin' | 'tenant';
  createdAt: string;
  /** The current month in the tenant's zone, and when its draft reached this threshold (or null). */
  period: string;
  reachedAt: string | null;
}

/**
 * Monthly budget thresholds of a tenant, set by the tenant (its key) or the provider (admin
 * key) for it. Routes are tenant-scoped: another tenant's id is a 404 like an unknown one (the
 * guard), and a threshold id of another tenant is a 404 like an unknown one (the SQL).
 */
@Injectable()
export class BudgetThresholdService {
  constructor(
    private readonly thresholds: BudgetThresholdRepository,
    private readonly tenants: TenantService,
    private readonly clock: Clock,
  ) {}

  async list(tenantId: string): Promise<{ data: ThresholdView[]; nextCursor: null }> {
    const tenant = await this.tenants.require(tenantId);
    const period = periodOf(this.clock.now(), tenant.timeZone);
    const [rows, crossed] = await Promise.all([
      this.thresholds.list(tenant.id),
      this.thresholds.crossingsOf(tenant.id, period),
    ]);
    return {
      data: rows.map((r) => view(r, tenant.currency, period, crossed.get(r.id) ?? null)),
      nextCursor: null,
    };
  }

  async create(principal: Principal, tenantId: string, body: unknown): Promise<ThresholdView> {
    const tenant = await this.tenants.require(tenantId);
    const amount = parseBody(body, minorUnitsOf(tenant.currency));
    const result = await this.thresholds.insert({
      id: `bt_${randomBytes(12).toString('hex')}`,
      tenantId: tenant.id,
      amount,
      createdBy: principal.kind,
      limit: MAX_THRESHOLDS_PER_TENANT,
    });
    if (result === 'exists') {
      throw new ConflictError(
        'BUDGET_THRESHOLD_EXISTS',
        `amount: tenant ${tenant.id} already has a threshold of ${amount} ${tenant.currency}`,
        'amount',
      );
    }
    if (result === 'limit') {
      throw new ConflictError(
        'BUDGET_THRESHOLD_LIMIT',
        `at most ${MAX_THRESHOLDS_PER_TENANT} budget thresholds per tenant; delete one first`,
      );
    }
    return view(result, tenant.currency, periodOf(this.clock.now(), tenant.timeZone), null);
  }

  async delete(tenantId: string, thresholdId: string): Promise<void> {
    const tenant = await this.tenants.require(tenantId);
    if (!THRESHOLD_ID.test(thresholdId)) {
      throw new ValidationFailedError([
        { field: 'thresholdId', message: 'must be a threshold id such as "bt_" + 24 hex digits' },
      ]);
    }
    if (!(await this.thresholds.delete(tenant.id, thresholdId))) {
      throw new NotFoundError(
        'BUDGET_THRESHOLD_NOT_FOUND',
        `budget threshold ${thresholdId} does not exist`,
      );
    }
  }
}

function parseBody(body: unknown, minorUnits: number): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationFailedError([
      { field: 'body', message: 'must be a JSON object such as {"amount":"150.00"}' },
    ]);
  }
  const problems = Object.keys(body)
    .filter((k) => k !== 'amount')
    .map((k) => ({
      // Named as every other field is: '""' for an empty key, controls escaped, long keys cut.
      field: fieldName(k),
      message: 'is not a member of a budget threshold (only amount)',
    }));
  const amount = (body as Record<string, unknown>)['amount'];
  const check =
    amount === undefined
      ? ({ ok: false, message: 'is required' } as const)
      : checkThresholdAmount(amount, minorUnits);
  if (!check.ok) problems.unshift({ field: 'amount', message: check.message });
  if (problems.length > 0) throw new ValidationFailedError(problems);
  return check.ok ? check.amount : '';
}

function view(
  r: ThresholdRow,
  currency: string,
  period: string,
  reachedAt: Date | null,
): ThresholdView {
  return {
    id: r.id,
    tenantId: r.tenantId,
    amount: fixed(r.amount, minorUnitsOf(currency)),
    currency,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    period,
    reachedAt: reachedAt === null ? null : reachedAt.toISOString(),
  };
}

/** NUMERIC text as stored (the canonical amount) with the currency's digits. */
function fixed(amount: string, minorUnits: number): string {
  const [integer = '0', fraction = ''] = amount.split('.');
  return minorUnits === 0
    ? integer
    : `${integer}.${fraction.padEnd(minorUnits, '0').slice(0, minorUnits)}`;
}
