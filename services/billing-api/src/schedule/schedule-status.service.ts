import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { BILLING_CONFIG } from '../common/tokens';
import { type BillingConfig } from '../config';
import { PeriodCloseService } from '../invoices/period-close.service';
import { type CloseRunView, CloseRunStore } from './close-run.store';
import { candidatePeriods, type PeriodPhase, periodPhase } from './domain/close-schedule';

/** The scheduled close as `billing schedule` shows it. */
export interface ScheduleStatus {
  /** SCHEDULED_CLOSE as this process reads it (the server's own timer; the CronJob is apart). */
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly lookbackMonths: number;
  readonly fromPeriod: string | null;
  /**
   * The oldest month the schedule will close next: one in the lookback with a tenant not final
   * yet, else the current month. `closableFrom` is its end in the last tenant zone plus the
   * grace; the first run from then on closes it (within `intervalMs`). Null when `fromPeriod`
   * lies beyond the current month.
   */
  readonly next: { period: string; phase: PeriodPhase; closableFrom: string } | null;
  readonly lastRun: CloseRunView | null;
}

/** Reads what the scheduler would do and what it (or the CLI) last did; changes nothing. */
@Injectable()
export class ScheduleStatusService {
  constructor(
    private readonly closer: PeriodCloseService,
    private readonly runs: CloseRunStore,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  async status(): Promise<ScheduleStatus> {
    const { enabled, intervalMs, lookbackMonths, fromPeriod } = this.config.automation.schedule;
    return {
      enabled,
      intervalMs,
      graceMs: this.config.closeGraceMs,
      lookbackMonths,
      fromPeriod,
      next: await this.next(),
      lastRun: await this.runs.last(),
    };
  }

  private async next(): Promise<ScheduleStatus['next']> {
    const now = this.clock.now();
    const { lookbackMonths, fromPeriod } = this.config.automation.schedule;
    const current = currentPeriod(now);
    for (const period of candidatePeriods(now, lookbackMonths, fromPeriod)) {
      if (await this.runs.someTenantNotFinal(period)) return this.due(period, now);
    }
    return fromPeriod !== null && current < fromPeriod ? null : this.due(current, now);
  }

  private async due(period: string, now: number): Promise<ScheduleStatus['next']> {
    const closableFrom = await this.closer.closableFrom(period);
    return {
      period,
      phase: periodPhase(now, closableFrom, this.config.closeGraceMs),
      closableFrom: new Date(closableFrom).toISOString(),
    };
  }
}

function currentPeriod(nowMs: number): string {
  const d = new Date(nowMs);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
