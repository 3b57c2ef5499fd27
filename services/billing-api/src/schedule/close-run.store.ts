import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { execute, firstRow, jsonDocument } from '../common/sql-rows';
import { type CloseResult } from '../invoices/period-close.service';

/** Who started a close: billing-api's schedule (its timer or the CronJob's run) or the CLI. */
export type CloseRunStarter = 'schedule' | 'cli' | 'api';
export type CloseRunStatus = 'running' | 'succeeded' | 'failed';

/** The last close of some month, as `billing schedule` shows it. */
export interface CloseRunView {
  readonly period: string;
  readonly status: CloseRunStatus;
  readonly startedBy: CloseRunStarter;
  /** host:pid (and user@ for the CLI). */
  readonly instance: string;
  /** Attempts at this month so far. */
  readonly attempts: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly result: CloseResult | null;
  readonly error: string | null;
}

/** The rows this store reads, checked at the boundary (common/sql-rows.ts). */
const CloseRunRow = z.object({
  period: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  started_by: z.enum(['schedule', 'cli', 'api']),
  instance: z.string(),
  attempts: z.number().int(),
  started_at: z.date(),
  finished_at: z.date().nullable(),
  result: jsonDocument<CloseResult>().nullable(),
  last_error: z.string().nullable(),
});
const SomeRow = z.object({ some: z.boolean() });

/** `billing_close_run`: one row per month, the last attempt at closing it, across processes. */
@Injectable()
export class CloseRunStore {
  constructor(private readonly dataSource: DataSource) {}

  async record(
    period: string,
    status: CloseRunStatus,
    by: { startedBy: CloseRunStarter; instance: string },
    result: CloseResult | null,
    error: string | null,
  ): Promise<void> {
    await execute(
      this.dataSource,
      `INSERT INTO billing_close_run (period, status, attempts, started_at, instance, result, last_error, started_by)
       VALUES ($1, $2, 1, now(), $3, $4, $5, $6)
       ON CONFLICT (period) DO UPDATE SET status = EXCLUDED.status,
         attempts = billing_close_run.attempts + CASE WHEN EXCLUDED.status = 'running' THEN 1 ELSE 0 END,
         started_at = CASE WHEN EXCLUDED.status = 'running' THEN now() ELSE billing_close_run.started_at END,
         finished_at = CASE WHEN EXCLUDED.status = 'running' THEN NULL ELSE now() END,
         instance = EXCLUDED.instance,
         started_by = EXCLUDED.started_by,
         result = coalesce(EXCLUDED.result, billing_close_run.result),
         last_error = EXCLUDED.last_error`,
      [
        period,
        status,
        by.instance,
        result === null ? null : JSON.stringify(result),
        error === null ? null : error.slice(0, 2000),
        by.startedBy,
      ],
    );
  }

  /** The most recently started close of any month, or null when none was ever recorded. */
  async last(): Promise<CloseRunView | null> {
    const row = await firstRow(
      this.dataSource,
      CloseRunRow,
      `SELECT period, status, started_by, instance, attempts, started_at, finished_at, result, last_error
       FROM billing_close_run ORDER BY started_at DESC, period DESC LIMIT 1`,
    );
    if (row === null) return null;
    return {
      period: row.period,
      status: row.status,
      startedBy: row.started_by,
      instance: row.instance,
      attempts: row.attempts,
      startedAt: new Date(row.started_at).toISOString(),
      finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
      result: row.result,
      error: row.last_error,
    };
  }

  /** Whether some tenant has no final invoice for the month (so a close has work to do). */
  async someTenantNotFinal(period: string): Promise<boolean> {
    const row = await firstRow(
      this.dataSource,
      SomeRow,
      `SELECT EXISTS (SELECT 1 FROM tenant t WHERE NOT EXISTS
         (SELECT 1 FROM invoice i WHERE i.tenant_id = t.id AND i.period = $1)) AS some`,
      [period],
    );
    return row?.some === true;
  }
}
