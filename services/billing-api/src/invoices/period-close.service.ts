import { Inject, Injectable } from '@nestjs/common';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { periodBounds } from '@metering/pricing';
import { type BillingConfig } from '../config';
import { ConflictError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import { mapConcurrent } from '@metering/observability/resilience';
import { groupBy } from '../common/database.provider';
import { BILLING_CONFIG } from '../common/tokens';
import {
  assignmentsFingerprint,
  TenantRepository,
  type TenantRow,
} from '../tenants/tenant.repository';
import { enqueueAll } from '../events/event-outbox';
import { invoiceFinalized } from '../events/invoice-event.factory';
import { finalizeInvoice } from './domain';
import { InvoiceRepository } from './invoice.repository';
import { InvoiceService, toAssignments } from './invoice.service';

export interface CloseResult {
  readonly period: string;
  readonly tenants: number;
  readonly finalized: number;
  readonly alreadyFinal: number;
  readonly closableFrom: string;
}

/** Rounds of pricing again a batch's tenants whose assignments changed during the close. */
const MAX_REPRICING_ROUNDS = 5;

export type Progress = (done: number, total: number) => void;

/** Closes a month: every tenant's invoice becomes final, numbered and hashed, in tenant-id order. */
@Injectable()
export class PeriodCloseService {
  private readonly logger: Logger;
  private readonly closed;
  private readonly duration;
  private readonly repriced;

  constructor(
    private readonly invoices: InvoiceRepository,
    private readonly tenants: TenantRepository,
    private readonly invoiceService: InvoiceService,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(PeriodCloseService.name, { parent: root });
    this.closed = metrics.counter({ name: 'invoices_closed_total', help: 'Invoices made final' });
    this.repriced = metrics.counter({
      name: 'period_close_repriced_total',
      help: 'Drafts priced again because a plan assignment committed during the close',
    });
    this.duration = metrics.histogram({
      name: 'period_close_duration_seconds',
      help: 'Time to close a period for every tenant',
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300],
    });
  }

  /** Prices the tenants' drafts, then makes them final with the next numbers, in id order. */
  private async finalizeBatch(
    period: string,
    tenants: readonly TenantRow[],
  ): Promise<{ created: number; existing: number; stale: string[] }> {
    const plans = groupBy(
      await this.tenants.assignedPlans(tenants.map((t) => t.id)),
      (r) => r.tenantId,
    );
    // Drafts (and the PDF's daily chart) are computed concurrently; numbers are then taken in
    // tenant-id order.
    const drafts = await mapConcurrent(tenants, this.config.concurrency, async (t) => {
      const rows = plans.get(t.id) ?? [];
      const draft = await this.invoiceService.draft(t, period, toAssignments(rows));
      return {
        draft,
        assignments: assignmentsFingerprint(rows),
        daily: await this.invoiceService.daily(t, draft),
      };
    });
    const dailyOf = new Map(drafts.map((d) => [d.draft.tenantId, d.daily]));
    // One transaction per batch: numbers follow tenant-id order without gaps, each final
    // invoice's PDF is rendered once and stored with it, and invoice.finalized goes into the
    // outbox in the same transaction.
    const now = this.clock.now();
    return this.invoices.finalizeAll(
      period,
      drafts.map(({ draft, assignments }) => ({
        tenantId: draft.tenantId,
        assignments,
        makeFinal: (number: string) => finalizeInvoice(draft, number, now),
      })),
      {
        renderPdf: (invoice) =>
          this.invoiceService.renderPdf(invoice, dailyOf.get(invoice.tenantId) ?? []),
        inTransaction: (tx, finals) =>
          enqueueAll(
            tx,
            finals.map((f) => invoiceFinalized(f, now)),
          ).then(() => {}),
      },
    );
  }

  /** The instant from which the period may close: its latest end in any tenant zone, plus grace. */
  async closableFrom(period: string): Promise<number> {
    const zones = await this.tenants.zones();
    const ends = (zones.length === 0 ? ['UTC'] : zones).map((z) => periodBounds(period, z).endMs);
    return Math.max(...ends) + this.config.closeGraceMs;
  }

  async close(period: string, onProgress?: Progress): Promise<CloseResult> {
    const closableFrom = await this.closableFrom(period);
    if (this.clock.now() < closableFrom) {
      throw new ConflictError(
        'PERIOD_NOT_CLOSABLE',
        `period ${period} can be closed from ${new Date(closableFrom).toISOString()} (its end in the last tenant zone plus ${this.config.closeGraceMs} ms of grace for late data)`,
      );
    }
    const stopTimer = this.duration.startTimer();
    const total = await this.tenants.count();
    let done = 0;
    let finalized = 0;
    let alreadyFinal = 0;
    let after: string | null = null;
    for (;;) {
      const batch: TenantRow[] = await this.tenants.batch(after, this.config.batchSize);
      if (batch.length === 0) break;
      after = batch[batch.length - 1]?.id ?? null;
      const final = await this.invoices.finalTenantIds(
        period,
        batch.map((t) => t.id),
      );
      const open = batch.filter((t) => !final.has(t.id));
      alreadyFinal += batch.length - open.length;
      // A tenant whose plan assignment committed after its draft was priced is priced again
      // (finalizeAll compares under the tenant lock); bounded, as assignments are rare.
      let pending: TenantRow[] = open;
      for (let round = 0; pending.length > 0; round++) {
        if (round === MAX_REPRICING_ROUNDS) {
          throw new ConflictError(
            'PERIOD_NOT_CLOSABLE',
            `period ${period}: plan assignments of ${pending.map((t) => t.id).join(', ')} kept changing during the close; close again`,
          );
        }
        const result = await this.finalizeBatch(period, pending);
        finalized += result.created;
        alreadyFinal += result.existing;
        this.closed.inc(result.created);
        this.repriced.inc(result.stale.length);
        const stale = new Set(result.stale);
        pending = pending.filter((t) => stale.has(t.id));
      }
      done += batch.length;
      onProgress?.(done, Math.max(total, done));
    }
    const seconds = stopTimer();
    this.logger.info({ period, tenants: done, finalized, alreadyFinal, seconds }, 'period closed');
    return {
      period,
      tenants: done,
      finalized,
      alreadyFinal,
      closableFrom: new Date(closableFrom).toISOString(),
    };
  }
}
