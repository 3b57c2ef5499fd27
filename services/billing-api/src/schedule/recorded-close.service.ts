import { Injectable } from '@nestjs/common';
import { BillingError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import {
  type CloseResult,
  PeriodCloseService,
  type Progress,
} from '../invoices/period-close.service';
import { type CloseRunStarter, CloseRunStore } from './close-run.store';

/** What `billing_close_run.last_error` says: the error's stable code first. */
export function describeCloseError(error: unknown): string {
  return error instanceof BillingError
    ? `${error.code}: ${error.message}`
    : `INTERNAL: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * A month's close (PeriodCloseService.close) recorded in `billing_close_run` — running, then
 * succeeded or failed — by the scheduler and by the CLI's `close`, so `billing schedule` shows
 * the last run whichever process made it. A month not closable yet is refused (by the close
 * itself) before anything is recorded: a mistyped month leaves no row.
 */
@Injectable()
export class RecordedCloseService {
  constructor(
    private readonly closer: PeriodCloseService,
    private readonly runs: CloseRunStore,
    private readonly clock: Clock,
  ) {}

  async close(
    period: string,
    by: { startedBy: CloseRunStarter; instance: string },
    onProgress?: Progress,
  ): Promise<CloseResult> {
    if (this.clock.now() < (await this.closer.closableFrom(period))) {
      return this.closer.close(period, onProgress);
    }
    await this.runs.record(period, 'running', by, null, null);
    let result: CloseResult;
    try {
      result = await this.closer.close(period, onProgress);
    } catch (error) {
      await this.runs.record(period, 'failed', by, null, describeCloseError(error));
      throw error;
    }
    await this.runs.record(period, 'succeeded', by, result, null);
    return result;
  }
}
