import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type TierRecord } from '@metering/ledger';
import { type z } from 'zod';
import { execute, firstRow, rows } from '../common/sql-rows';
import { PlanDbRow } from './price-plan.rows';

export interface PlanRow {
  readonly id: string;
  readonly version: number;
  readonly currency: string;
  readonly basis: 'usage' | 'allocation' | 'max';
  readonly cpuTiers: TierRecord[] | null;
  readonly memoryTiers: TierRecord[] | null;
  readonly minimum: string;
  readonly createdAt: Date;
}

type RawPlan = z.output<typeof PlanDbRow>;

const COLUMNS = `id, version, currency, basis, cpu_tiers, memory_tiers, minimum::text AS minimum, created_at`;

const toPlan = (r: RawPlan): PlanRow => ({
  id: r.id,
  version: r.version,
  currency: r.currency,
  basis: r.basis,
  cpuTiers: r.cpu_tiers,
  memoryTiers: r.memory_tiers,
  minimum: r.minimum,
  createdAt: r.created_at,
});

@Injectable()
export class PricePlanRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores the next version of the plan; versions of one id are serialized by a lock. */
  async insertNextVersion(plan: Omit<PlanRow, 'version' | 'createdAt'>): Promise<PlanRow> {
    return this.dataSource.transaction(async (tx) => {
      await execute(tx, `SELECT pg_advisory_xact_lock(hashtext('price_plan'), hashtext($1))`, [
        plan.id,
      ]);
      const row = await firstRow(
        tx,
        PlanDbRow,
        `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers, minimum)
         SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4::jsonb, $5::jsonb, $6::numeric
         FROM price_plan WHERE id = $1
         RETURNING ${COLUMNS}`,
        [
          plan.id,
          plan.currency,
          plan.basis,
          plan.cpuTiers === null ? null : JSON.stringify(plan.cpuTiers),
          plan.memoryTiers === null ? null : JSON.stringify(plan.memoryTiers),
          plan.minimum,
        ],
      );
      if (row === null) throw new Error('price plan insert returned nothing');
      return toPlan(row);
    });
  }

  /** A given version, or the latest one. */
  async find(id: string, version?: number): Promise<PlanRow | null> {
    const row = await firstRow(
      this.dataSource,
      PlanDbRow,
      version === undefined
        ? `SELECT ${COLUMNS} FROM price_plan WHERE id = $1 ORDER BY version DESC LIMIT 1`
        : `SELECT ${COLUMNS} FROM price_plan WHERE id = $1 AND version = $2`,
      version === undefined ? [id] : [id, version],
    );
    return row === null ? null : toPlan(row);
  }

  async versions(id: string): Promise<PlanRow[]> {
    const found = await rows(
      this.dataSource,
      PlanDbRow,
      `SELECT ${COLUMNS} FROM price_plan WHERE id = $1 ORDER BY version`,
      [id],
    );
    return found.map(toPlan);
  }

  /** The latest version of each plan, in id order after `afterId`, optionally of one currency. */
  async latestPage(
    currency: string | undefined,
    afterId: string | null,
    limit: number,
  ): Promise<PlanRow[]> {
    const found = await rows(
      this.dataSource,
      PlanDbRow,
      `SELECT * FROM (
         SELECT DISTINCT ON (id) ${COLUMNS} FROM price_plan
         WHERE $1::text IS NULL OR id > $1 ORDER BY id, version DESC
       ) latest
       WHERE $2::text IS NULL OR currency = $2 ORDER BY id LIMIT $3`,
      [afterId, currency ?? null, limit],
    );
    return found.map(toPlan);
  }

  /** Versions of a plan after `afterVersion`, oldest first. */
  async versionPage(id: string, afterVersion: number, limit: number): Promise<PlanRow[]> {
    const found = await rows(
      this.dataSource,
      PlanDbRow,
      `SELECT ${COLUMNS} FROM price_plan WHERE id = $1 AND version > $2 ORDER BY version LIMIT $3`,
      [id, afterVersion, limit],
    );
    return found.map(toPlan);
  }
}
