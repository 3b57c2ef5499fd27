import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { periodOf } from '@metering/pricing';
import { withAdvisoryLock } from '../common/advisory-lock';
import { Clock } from '../common/clock';
import { mapConcurrent } from '@metering/observability/resilience';
import { groupBy } from '../common/database.provider';
import { PeriodicTask } from '../common/periodic-task';
import { BILLING_CONFIG } from '../common/tokens';
import { type BillingConfig } from '../config';
import { enqueue } from '../events/event-outbox';
import { budgetEventIdOf, budgetThresholdReached } from '../events/invoice-event.factory';
import { InvoiceService, toAssignments } from '../invoices/invoice.service';
import { TenantRepository, type TenantRow } from '../tenants/tenant.repository';
import { BudgetThresholdRepository, type ThresholdRow } from './budget-threshold.repository';
import { newlyCrossed } from './domain/budget-threshold.rules';

export interface BudgetCheckReport {
  /** false: another instance holds the lock; nothing was done. */
  readonly ran: boolean;
  /** Tenants whose draft was computed (some threshold not yet reached this month). */
  checked: number;
  /** Crossings recorded (each with its budget.threshold_reached in the outbox). */
  reached: number;
  /** Tenants whose check failed (retried by the next run). */
  failed: number;
}

/**
 * Checks the current month's draft amount (InvoiceService.draft, the same computation as
 * GET …/invoices/:period; its net `total`) of every tenant with thresholds against them, every
 * BUDGET_CHECK_INTERVAL_MS. A threshold reached is recorded in `budget_crossing` (primary key:
 * threshold and month) and `budget.threshold_reached` goes to the outbox in the same
 * transaction, so the event and its webhook deliveries exist once per threshold and month:
 * a second instance doing the same finds the row and writes nothing. A session advisory lock
 * keeps the other instances from computing the same drafts meanwhile; it only saves work.
 * Tenants whose thresholds are all reached this month are not priced.
 */
@Injectable()
export class BudgetCheckService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly reachedTotal;
  private readonly failures;
  private readonly lastSuccess;
  private readonly task: PeriodicTask;

  constructor(
    private readonly dataSource: DataSource,
    private readonly thresholds: BudgetThresholdRepository,
    private readonly tenants: TenantRepository,
    private readonly invoices: InvoiceService,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(BudgetCheckService.name, { parent: root });
    this.reachedTotal = metrics.counter({
      name: 'budget_thresholds_reached_total',
      help: 'Budget thresholds reached (recorded once per threshold and month, with budget.threshold_reached)',
    });
    this.reachedTotal.inc(0);
    this.failures = metrics.counter({
      name: 'budget_check_failures_total',
      help: 'Budget checks that failed: a tenant whose draft or crossing could not be computed or written, or a whole run',
    });
    this.failures.inc(0);
    this.lastSuccess = metrics.gauge({
      name: 'budget_check_last_success_timestamp_seconds',
      help: 'When a budget check run last finished without a failure (unix seconds)',
    });
    this.task = new PeriodicTask(
      () => this.runOnce(),
      config.automation.budget.checkIntervalMs,
      (error) => {
        this.failures.inc();
        this.logger.error({ err: error }, 'budget check failed; the next run retries');
      },
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.automation.background) return;
    this.logger.info(
      { intervalMs: this.config.automation.budget.checkIntervalMs },
      'budget checks on',
    );
    this.task.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
  }

  /** One run under the lock (the timer's, the tests'). */
  async runOnce(): Promise<BudgetCheckReport> {
    return withAdvisoryLock(
      this.dataSource,
      `metering-budget-check:${this.config.database.schema}`,
      () => this.checkAll(),
      { ran: false, checked: 0, reached: 0, failed: 0 },
    );
  }

  /**
   * Every tenant with thresholds, a batch at a time, without the lock: correct on its own (the
   * crossing's primary key), so two callers racing write one event per crossing.
   */
  async checkAll(): Promise<BudgetCheckReport> {
    const report: BudgetCheckReport = { ran: true, checked: 0, reached: 0, failed: 0 };
    let after: string | null = null;
    for (;;) {
      const ids = await this.thresholds.tenantIdsWithThresholds(after, this.config.batchSize);
      if (ids.length === 0) break;
      after = ids[ids.length - 1] ?? null;
      await this.checkBatch(ids, report);
    }
    if (report.failed === 0) this.lastSuccess.set(Date.now() / 1000);
    return report;
  }

  private async checkBatch(ids: readonly string[], report: BudgetCheckReport): Promise<void> {
    const nowMs = this.clock.now();
    const rows = await Promise.all(ids.map((id) => this.tenants.find(id)));
    const tenants = rows.filter((t): t is TenantRow => t !== null);
    const byTenant = groupBy(await this.thresholds.ofTenants(ids), (t) => t.tenantId);
    const periods = new Map(tenants.map((t) => [t.id, periodOf(nowMs, t.timeZone)]));
    const crossed = await this.thresholds.crossedIn(
      tenants.map((t) => ({ tenantId: t.id, period: periods.get(t.id) ?? '' })),
    );
    const due = tenants.filter((t) => (byTenant.get(t.id) ?? []).some((x) => !crossed.has(x.id)));
    if (due.length === 0) return;
    const plans = groupBy(
      await this.tenants.assignedPlans(due.map((t) => t.id)),
      (r) => r.tenantId,
    );
    await mapConcurrent(due, this.config.concurrency, async (tenant) => {
      try {
        report.checked += 1;
        // Awaited first: `report.reached += await …` would read the total before the wait and
        // lose the other tenants' counts added meanwhile.
        const reached = await this.checkTenant(
          tenant,
          periods.get(tenant.id) ?? periodOf(nowMs, tenant.timeZone),
          byTenant.get(tenant.id) ?? [],
          crossed,
          toAssignments(plans.get(tenant.id) ?? []),
        );
        report.reached += reached;
      } catch (error) {
        report.failed += 1;
        this.failures.inc();
        this.logger.error(
          { err: error, tenantId: tenant.id },
          'budget check of a tenant failed; the next run retries',
        );
      }
    });
  }

  private async checkTenant(
    tenant: TenantRow,
    period: string,
    thresholds: readonly ThresholdRow[],
    crossed: ReadonlySet<string>,
    assignments: Parameters<InvoiceService['draft']>[2],
  ): Promise<number> {
    const draft = await this.invoices.draft(tenant, period, assignments);
    const reached = newlyCrossed(thresholds, draft.total, crossed);
    if (reached.length === 0) return 0;
    const crossedAtMs = this.clock.now();
    const recorded = await this.dataSource.transaction(async (tx) => {
      const out: ThresholdRow[] = [];
      for (const threshold of reached) {
        const row = thresholds.find((t) => t.id === threshold.id);
        if (row === undefined) continue;
        const facts = {
          tenantId: tenant.id,
          thresholdId: row.id,
          threshold: row.amount,
          amount: draft.total,
          currency: draft.currency,
          period,
          crossedAtMs,
        };
        const isNew = await this.thresholds.recordCrossing(tx, {
          thresholdId: row.id,
          tenantId: tenant.id,
          period,
          thresholdAmount: row.amount,
          amount: draft.total,
          currency: draft.currency,
          eventId: budgetEventIdOf(tenant.id, row.id, period),
          crossedAtMs,
        });
        if (!isNew) continue;
        await enqueue(tx, budgetThresholdReached(facts));
        out.push(row);
      }
      return out;
    });
    for (const row of recorded) {
      this.reachedTotal.inc();
      this.logger.info(
        {
          tenantId: tenant.id,
          thresholdId: row.id,
          threshold: row.amount,
          amount: draft.total,
          period,
        },
        'budget threshold reached',
      );
    }
    return recorded.length;
  }
}
