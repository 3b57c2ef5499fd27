import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { invoiceEventIdOf } from '@metering/contracts';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { withAdvisoryLock } from '../common/advisory-lock';
import { Clock } from '../common/clock';
import { mapConcurrent } from '@metering/observability/resilience';
import { groupBy } from '../common/database.provider';
import { PeriodicTask } from '../common/periodic-task';
import { rows } from '../common/sql-rows';
import { BILLING_CONFIG } from '../common/tokens';
import { type BillingConfig } from '../config';
import { enqueueAll } from '../events/event-outbox';
import { invoiceDrafted } from '../events/invoice-event.factory';
import { InvoiceRepository } from '../invoices/invoice.repository';
import { InvoiceService, toAssignments } from '../invoices/invoice.service';
import { type CloseResult, PeriodCloseService } from '../invoices/period-close.service';
import { TenantRepository } from '../tenants/tenant.repository';
import { CloseRunStore } from './close-run.store';
import { candidatePeriods, periodPhase } from './domain/close-schedule';
import { describeCloseError, RecordedCloseService } from './recorded-close.service';

export interface ScheduledRunReport {
  /** false: another instance holds the lock; nothing was done. */
  readonly ran: boolean;
  readonly drafted: Record<string, number>;
  readonly closed: Record<string, CloseResult>;
  readonly failed: Record<string, string>;
}

/** An outbox row's id, checked at the boundary (common/sql-rows.ts). */
const EventIdRow = z.object({ event_id: z.string() });

/**
 * Closes every past month by itself once its grace has passed (PeriodCloseService.close, the
 * same path as POST /v1/periods/:period/close and the CLI), and announces each ended month's
 * drafts (invoice.drafted) while the grace runs.
 *
 * One instance at a time: a run holds a session-level PostgreSQL advisory lock (per schema) on
 * its own connection; an instance that cannot take it skips the run. Idempotent all the same:
 * a close finalises only invoices that are not final (the numbering counter row is locked), and
 * events have stable ids, so a CLI close or an API close racing the scheduler adds nothing twice.
 * A month is closed again while some tenant has no final invoice for it (a tenant registered
 * later), within the lookback. Each run is recorded in `billing_close_run`.
 */
@Injectable()
export class ScheduledCloseService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly runs;
  private readonly lastSuccess;
  private readonly instance = `${hostname()}:${process.pid}`;
  private readonly task: PeriodicTask;

  constructor(
    private readonly dataSource: DataSource,
    private readonly closer: PeriodCloseService,
    private readonly recorded: RecordedCloseService,
    private readonly closeRuns: CloseRunStore,
    private readonly tenants: TenantRepository,
    private readonly invoices: InvoiceRepository,
    private readonly invoiceService: InvoiceService,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(ScheduledCloseService.name, { parent: root });
    this.runs = metrics.counter<'outcome'>({
      name: 'scheduled_close_runs_total',
      help: 'Scheduled close attempts per month by outcome (closed, failed)',
      labelNames: ['outcome'],
    });
    // Both outcomes from the start: an alert on `failed` finds the series before the first failure.
    this.runs.inc({ outcome: 'closed' }, 0);
    this.runs.inc({ outcome: 'failed' }, 0);
    this.lastSuccess = metrics.gauge({
      name: 'scheduled_close_last_success_timestamp_seconds',
      help: 'When a scheduled close last finished without error (unix seconds)',
    });
    this.task = new PeriodicTask(
      () => this.runOnce(),
      config.automation.schedule.intervalMs,
      (error) =>
        this.logger.error({ err: error }, 'scheduled close run failed; the next run retries'),
    );
  }

  onApplicationBootstrap(): void {
    const { background, schedule } = this.config.automation;
    if (!background || !schedule.enabled) return;
    this.logger.info(
      { intervalMs: schedule.intervalMs, lookbackMonths: schedule.lookbackMonths },
      'scheduled close on',
    );
    this.task.start();
  }

  /** Before the database closes (its provider closes on onApplicationShutdown): a run in flight ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
  }

  /** One run (the timer's, the close-due command's, the tests'). */
  async runOnce(
    onProgress?: (period: string, done: number, total: number) => void,
  ): Promise<ScheduledRunReport> {
    const report = { ran: false, drafted: {}, closed: {}, failed: {} } as {
      ran: boolean;
      drafted: Record<string, number>;
      closed: Record<string, CloseResult>;
      failed: Record<string, string>;
    };
    const ran = await withAdvisoryLock(
      this.dataSource,
      `metering-scheduled-close:${this.config.database.schema}`,
      async () => {
        await this.work(report, onProgress);
        return true;
      },
      false,
    );
    report.ran = ran;
    return report;
  }

  private async work(
    report: {
      drafted: Record<string, number>;
      closed: Record<string, CloseResult>;
      failed: Record<string, string>;
    },
    onProgress?: (period: string, done: number, total: number) => void,
  ): Promise<void> {
    const { lookbackMonths, fromPeriod } = this.config.automation.schedule;
    for (const period of candidatePeriods(this.clock.now(), lookbackMonths, fromPeriod)) {
      const closableFrom = await this.closer.closableFrom(period);
      const phase = periodPhase(this.clock.now(), closableFrom, this.config.closeGraceMs);
      if (phase === 'open') continue;
      if (!(await this.closeRuns.someTenantNotFinal(period))) continue;
      const drafted = await this.announceDrafts(period);
      if (drafted > 0) report.drafted[period] = drafted;
      if (phase !== 'due') continue;
      try {
        const result = await this.recorded.close(
          period,
          { startedBy: 'schedule', instance: this.instance },
          onProgress && ((done, total) => onProgress(period, done, total)),
        );
        report.closed[period] = result;
        this.runs.inc({ outcome: 'closed' });
        this.lastSuccess.set(Date.now() / 1000);
        this.logger.info({ ...result }, 'month closed by the schedule');
      } catch (error) {
        report.failed[period] = describeCloseError(error);
        this.runs.inc({ outcome: 'failed' });
        this.logger.error({ err: error, period }, 'scheduled close failed; the next run retries');
      }
    }
  }

  /** invoice.drafted for each tenant of an ended month that is not final and not yet announced. */
  private async announceDrafts(period: string): Promise<number> {
    let added = 0;
    let after: string | null = null;
    for (;;) {
      const batch = await this.tenants.batch(after, this.config.batchSize);
      if (batch.length === 0) return added;
      after = batch[batch.length - 1]?.id ?? null;
      const final = await this.invoices.finalTenantIds(
        period,
        batch.map((t) => t.id),
      );
      const ids = new Map(
        batch.map((t) => [invoiceEventIdOf('invoice.drafted', [t.id, period]), t] as const),
      );
      const known = await rows(
        this.dataSource,
        EventIdRow,
        `SELECT event_id FROM event_outbox WHERE event_id = ANY ($1)`,
        [[...ids.keys()]],
      );
      for (const k of known) ids.delete(k.event_id);
      const open = [...ids.values()].filter((t) => !final.has(t.id));
      if (open.length === 0) continue;
      const plans = groupBy(
        await this.tenants.assignedPlans(open.map((t) => t.id)),
        (r) => r.tenantId,
      );
      const drafts = await mapConcurrent(open, this.config.concurrency, (t) =>
        this.invoiceService.draft(t, period, toAssignments(plans.get(t.id) ?? [])),
      );
      const now = this.clock.now();
      added += await this.dataSource.transaction((tx) =>
        enqueueAll(
          tx,
          drafts.map((d) => invoiceDrafted(d, now)),
        ),
      );
    }
  }
}
