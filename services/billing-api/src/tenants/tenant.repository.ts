import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type TierRecord } from '@metering/ledger';
import { execute, firstRow, rows } from '../common/sql-rows';
import { type TenantBilling } from './tenant-billing';
import {
  AssignedPlanDbRow,
  AssignmentDbRow,
  CountRow,
  ExistsRow,
  LastPeriodRow,
  TENANT_COLUMNS as COLUMNS,
  TenantDbRow,
  TimeZoneRow,
} from './tenant.rows';

export interface TenantRow {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly createdAt: Date;
  readonly billing: TenantBilling;
}

export interface AssignmentRow {
  readonly tenantId: string;
  readonly effectiveFrom: Date;
  readonly planId: string;
  readonly planVersion: number;
}

/** An assignment with its plan version, for pricing. */
export interface AssignedPlanRow extends AssignmentRow {
  readonly currency: string;
  readonly basis: 'usage' | 'allocation' | 'max';
  readonly cpuTiers: TierRecord[] | null;
  readonly memoryTiers: TierRecord[] | null;
  readonly minimum: string;
}

const toTenant = (r: TenantDbRow): TenantRow => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone,
  currency: r.currency,
  createdAt: r.created_at,
  billing: {
    legalName: r.legal_name,
    address: r.address,
    taxId: r.tax_id,
    email: r.email,
    taxRate: r.tax_rate,
    taxExemptionReason: r.tax_exemption_reason,
    paymentTermsDays: r.payment_terms_days,
    locale: r.locale,
  },
});

@Injectable()
export class TenantRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** False when the id is taken. */
  async insert(t: {
    id: string;
    name: string;
    timeZone: string;
    currency: string;
  }): Promise<TenantRow | null> {
    const found = await rows(
      this.dataSource,
      TenantDbRow,
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
      [t.id, t.name, t.timeZone, t.currency],
    );
    const row = found[0];
    return row === undefined ? null : toTenant(row);
  }

  async find(id: string): Promise<TenantRow | null> {
    const found = await rows(
      this.dataSource,
      TenantDbRow,
      `SELECT ${COLUMNS} FROM tenant WHERE id = $1`,
      [id],
    );
    const row = found[0];
    return row === undefined ? null : toTenant(row);
  }

  /** Tenants in id order after `afterId` (keyset pagination: flat memory for any count). */
  async batch(afterId: string | null, limit: number): Promise<TenantRow[]> {
    const found = await rows(
      this.dataSource,
      TenantDbRow,
      `SELECT ${COLUMNS} FROM tenant
       WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return found.map(toTenant);
  }

  /** A page of tenants in id order after `afterId`, optionally those whose name starts so. */
  async page(
    filter: { readonly id?: string | undefined; readonly namePrefix?: string | undefined },
    afterId: string | null,
    limit: number,
  ): Promise<TenantRow[]> {
    const found = await rows(
      this.dataSource,
      TenantDbRow,
      `SELECT ${COLUMNS} FROM tenant
       WHERE ($1::text IS NULL OR id > $1) AND ($2::text IS NULL OR id = $2)
         AND ($3::text IS NULL OR starts_with(name, $3))
       ORDER BY id LIMIT $4`,
      [afterId, filter.id ?? null, filter.namePrefix ?? null, limit],
    );
    return found.map(toTenant);
  }

  /** Replaces the billing details; null when the tenant does not exist. */
  async updateBilling(id: string, b: TenantBilling): Promise<TenantRow | null> {
    const found = await rows(
      this.dataSource,
      TenantDbRow,
      // A CTE, so the answer is rows (TypeORM answers a bare UPDATE with [rows, count]).
      `WITH updated AS (
         UPDATE tenant SET legal_name = $2, address = $3, tax_id = $4, email = $5, tax_rate = $6::numeric,
           tax_exemption_reason = $7, payment_terms_days = $8, locale = $9
         WHERE id = $1 RETURNING *)
       SELECT ${COLUMNS} FROM updated`,
      [
        id,
        b.legalName,
        b.address,
        b.taxId,
        b.email,
        b.taxRate,
        b.taxExemptionReason,
        b.paymentTermsDays,
        b.locale,
      ],
    );
    const row = found[0];
    return row === undefined ? null : toTenant(row);
  }

  async count(): Promise<number> {
    const row = await firstRow(this.dataSource, CountRow, `SELECT count(*)::text AS n FROM tenant`);
    return Number(row?.n ?? 0);
  }

  async databaseKnowsZone(zone: string): Promise<boolean> {
    const row = await firstRow(
      this.dataSource,
      ExistsRow,
      `SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS ok`,
      [zone],
    );
    return row?.ok === true;
  }

  async zones(): Promise<string[]> {
    const found = await rows(this.dataSource, TimeZoneRow, `SELECT DISTINCT time_zone FROM tenant`);
    return found.map((r) => r.time_zone);
  }

  async assignments(tenantId: string): Promise<AssignmentRow[]> {
    const found = await rows(
      this.dataSource,
      AssignmentDbRow,
      `SELECT tenant_id, effective_from, plan_id, plan_version FROM plan_assignment
       WHERE tenant_id = $1 ORDER BY effective_from`,
      [tenantId],
    );
    return found.map((r) => ({
      tenantId: r.tenant_id,
      effectiveFrom: r.effective_from,
      planId: r.plan_id,
      planVersion: r.plan_version,
    }));
  }

  /** Assignments with their plan versions, for a set of tenants at once. */
  async assignedPlans(tenantIds: readonly string[]): Promise<AssignedPlanRow[]> {
    if (tenantIds.length === 0) return [];
    const found = await rows(
      this.dataSource,
      AssignedPlanDbRow,
      `SELECT a.tenant_id, a.effective_from, a.plan_id, a.plan_version, p.currency, p.basis,
              p.cpu_tiers, p.memory_tiers, p.minimum::text AS minimum
       FROM plan_assignment a JOIN price_plan p ON p.id = a.plan_id AND p.version = a.plan_version
       WHERE a.tenant_id = ANY($1) ORDER BY a.tenant_id, a.effective_from`,
      [tenantIds],
    );
    return found.map((r) => ({
      tenantId: r.tenant_id,
      effectiveFrom: r.effective_from,
      planId: r.plan_id,
      planVersion: r.plan_version,
      currency: r.currency,
      basis: r.basis,
      cpuTiers: r.cpu_tiers,
      memoryTiers: r.memory_tiers,
      minimum: r.minimum,
    }));
  }

  /**
   * One assignment per tenant and instant (assigning again at the same instant replaces it),
   * unless `period` or a later one of the tenant is already final: then nothing is written and
   * the last final period is returned. The tenant row is locked for the transaction, as a
   * period close locks it (InvoiceRepository.finalizeAll) before it makes the tenant's invoice
   * final: an assignment and a close of the same tenant take turns, and whichever comes second
   * sees what the first committed.
   */
  async assignUnlessClosed(
    tenantId: string,
    effectiveFrom: Date,
    period: string,
    planId: string,
    planVersion: number,
  ): Promise<{ readonly lastClosed: string | null; readonly assigned: boolean }> {
    return this.dataSource.transaction('READ COMMITTED', async (tx) => {
      await execute(tx, `SELECT id FROM tenant WHERE id = $1 FOR NO KEY UPDATE`, [tenantId]);
      const last = await firstRow(
        tx,
        LastPeriodRow,
        `SELECT max(period) AS period FROM invoice WHERE tenant_id = $1`,
        [tenantId],
      );
      const lastClosed = last?.period ?? null;
      if (lastClosed !== null && period <= lastClosed) return { lastClosed, assigned: false };
      await execute(
        tx,
        `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, effective_from)
         DO UPDATE SET plan_id = EXCLUDED.plan_id, plan_version = EXCLUDED.plan_version`,
        [tenantId, effectiveFrom, planId, planVersion],
      );
      return { lastClosed, assigned: true };
    });
  }
}

/**
 * What a draft was priced with: a tenant's assignments in effective order. A close compares it
 * with the assignments it reads under the tenant's lock; a difference means the draft is stale.
 */
export function assignmentsFingerprint(
  rows: readonly Pick<AssignmentRow, 'effectiveFrom' | 'planId' | 'planVersion'>[],
): string {
  return rows
    .map((r) => `${r.effectiveFrom.toISOString()} ${r.planId} ${r.planVersion}`)
    .join('\n');
}
