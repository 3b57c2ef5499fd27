import { Injectable } from '@nestjs/common';
import { periodOf } from '@metering/pricing';
import {
  ConflictError,
  NotFoundError,
  UnprocessableError,
  ValidationFailedError,
} from '../common/billing.errors';
import { effectiveBucketStart } from '../invoices/domain';
import { PricePlanRepository } from '../price-plans/price-plan.repository';
import {
  type AssignedPlanDto,
  type AssignPlanDto,
  type CreateTenantDto,
  type TenantDto,
} from './tenant.dto';
import { billingProblems, mergeBilling, parseBillingPatch } from './tenant-billing';
import { TenantRepository, type TenantRow } from './tenant.repository';

@Injectable()
export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly plans: PricePlanRepository,
  ) {}

  async create(dto: CreateTenantDto): Promise<TenantDto> {
    const timeZone = canonicalZone(dto.timeZone ?? 'UTC');
    // Day sums are computed by PostgreSQL (AT TIME ZONE): it must know the zone as well.
    if (!(await this.tenants.databaseKnowsZone(timeZone))) {
      throw new ValidationFailedError([
        { field: 'timeZone', message: `is unknown to the database: ${timeZone}` },
      ]);
    }
    const row = await this.tenants.insert({
      id: dto.id,
      name: dto.name,
      timeZone,
      currency: dto.currency,
    });
    if (row === null) throw new ConflictError('TENANT_EXISTS', `tenant ${dto.id} already exists`);
    return this.toDto(row);
  }

  async get(id: string): Promise<TenantDto> {
    return this.toDto(await this.require(id));
  }

  async require(id: string): Promise<TenantRow> {
    const row = await this.tenants.find(id);
    if (row === null) throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${id} does not exist`);
    return row;
  }

  /**
   * Applies a JSON merge patch to the billing details. Every shape problem is a 400 naming its
   * field; rules across fields are checked on the merged result. Final invoices keep the details
   * they were issued with; drafts show the new ones at once.
   */
  async patchBilling(id: string, body: unknown): Promise<TenantDto> {
    const { patch, problems } = parseBillingPatch(body);
    if (problems.length > 0) throw new ValidationFailedError(problems);
    const tenant = await this.require(id);
    const merged = mergeBilling(tenant.billing, patch);
    const crossField = billingProblems(merged);
    if (crossField.length > 0) throw new ValidationFailedError(crossField);
    const row = await this.tenants.updateBilling(id, merged);
    if (row === null) throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${id} does not exist`);
    return this.toDto(row);
  }

  /**
   * Assigns a plan version from an instant on. The instant is truncated to the tenant's hour
   * bucket (the ledger's resolution). A closed month cannot change plans: its invoice is final.
   */
  async assignPlan(id: string, dto: AssignPlanDto): Promise<AssignedPlanDto> {
    const tenant = await this.require(id);
    const plan = await this.plans.find(dto.planId, dto.planVersion);
    if (plan === null) {
      throw new NotFoundError(
        'PLAN_NOT_FOUND',
        `price plan ${dto.planId}${dto.planVersion === undefined ? '' : ` v${dto.planVersion}`} does not exist`,
      );
    }
    if (plan.currency !== tenant.currency) {
      throw new UnprocessableError(
        'PLAN_CURRENCY_MISMATCH',
        'planId',
        `plan ${plan.id} v${plan.version} is priced in ${plan.currency}, tenant ${tenant.id} is billed in ${tenant.currency}`,
      );
    }
    const requested = Date.parse(dto.effectiveFrom);
    const effective = effectiveBucketStart(tenant.timeZone, requested);
    const period = periodOf(effective, tenant.timeZone);
    // Checked and written under the tenant's lock: a concurrent close of `period` either
    // finished first (then this is refused) or waits and prices this assignment.
    const { lastClosed, assigned } = await this.tenants.assignUnlessClosed(
      tenant.id,
      new Date(effective),
      period,
      plan.id,
      plan.version,
    );
    if (!assigned) {
      throw new ConflictError(
        'PERIOD_CLOSED',
        `effectiveFrom: ${period} is closed for tenant ${tenant.id} (last closed ${String(lastClosed)}); assign from the first open month on`,
      );
    }
    return {
      tenantId: tenant.id,
      planId: plan.id,
      planVersion: plan.version,
      effectiveFrom: new Date(effective).toISOString(),
      requestedEffectiveFrom: new Date(requested).toISOString(),
    };
  }

  private async toDto(row: TenantRow): Promise<TenantDto> {
    const assignments = await this.tenants.assignments(row.id);
    return {
      id: row.id,
      name: row.name,
      timeZone: row.timeZone,
      currency: row.currency,
      createdAt: row.createdAt.toISOString(),
      plans: assignments.map((a) => ({
        planId: a.planId,
        planVersion: a.planVersion,
        effectiveFrom: a.effectiveFrom.toISOString(),
      })),
      billing: row.billing,
    };
  }
}

/**
 * Fixes only the letter case ("utc" → "UTC", "europe/paris" → "Europe/Paris"); ICU's own
 * canonical names can be the older spelling (Asia/Kolkata → Asia/Calcutta), which is kept out.
 */
function canonicalZone(zone: string): string {
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
}
