import { Inject, Injectable } from '@nestjs/common';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { byteSecondsToGibSeconds, Decimal, SECONDS_PER_HOUR } from '@metering/money';
import { periodBounds, periodOf, pricePlanOfStored, type PricePlan } from '@metering/pricing';
import { type BillingConfig } from '../config';
import { IntegrityError, UnprocessableError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import { BILLING_CONFIG } from '../common/tokens';
import { MIN_PERIOD } from '../common/validators';
import {
  type AssignedPlanRow,
  TenantRepository,
  type TenantRow,
} from '../tenants/tenant.repository';
import { TenantService } from '../tenants/tenant.service';
import {
  adjustmentLine,
  calculateInvoice,
  type CreditNoteDocument,
  type InvoiceBilling,
  localDate,
  type InvoiceDocument,
  type InvoiceLine,
  type PlanAssignment,
  planSegments,
  settlementOf,
  shiftPeriod,
  usageTotalsEqual,
  withBilling,
} from './domain';
import { CreditNoteRepository } from './credit-note.repository';
import { type FinalSummaryRow, InvoiceRepository } from './invoice.repository';
import {
  type DailyUsagePoint,
  renderCreditNotePdf,
  renderInvoicePdf,
} from './render/invoice-pdf.renderer';

/** A month in a tenant's list of invoices: a final invoice's summary, or a draft. */
export type InvoiceSummary =
  | (FinalSummaryRow & { readonly status: 'final' })
  | { readonly period: string; readonly status: 'draft'; readonly currency: string };

/**
 * Reads the ledger and hands it to the pure calculator. Final invoices are returned as stored;
 * every other invoice is a live draft computed on each read.
 */
@Injectable()
export class InvoiceService {
  private readonly logger: Logger;
  private readonly integrityFailures;

  constructor(
    private readonly invoices: InvoiceRepository,
    private readonly creditNotes: CreditNoteRepository,
    private readonly tenantRepository: TenantRepository,
    private readonly tenants: TenantService,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(InvoiceService.name, { parent: root });
    this.integrityFailures = metrics.counter({
      name: 'document_integrity_failures_total',
      help: 'Stored final documents (content or PDF) whose SHA-256 did not match: never served',
    });
  }

  /**
   * The tenant's months from the first that can hold an invoice (its registration month, or an
   * earlier one already final) to the current one, in its zone: final ones as stored, the others
   * as drafts (their totals move until the close, so they are not computed for a list).
   */
  async summaries(
    tenantId: string,
    filter: { from?: string; to?: string; status?: 'draft' | 'final' },
    after: string | null,
    limit: number,
  ): Promise<InvoiceSummary[]> {
    const tenant = await this.tenants.require(tenantId);
    const current = periodOf(this.clock.now(), tenant.timeZone);
    const created = periodOf(tenant.createdAt.getTime(), tenant.timeZone);
    const from = [
      filter.from ?? MIN_PERIOD,
      after === null ? MIN_PERIOD : shiftPeriod(after, 1),
    ].reduce((a, b) => (a > b ? a : b));
    const to = filter.to === undefined || filter.to > current ? current : filter.to;
    if (from > to) return [];
    const finals = await this.invoices.finalSummaries(tenant.id, from, to);
    const out: InvoiceSummary[] = [];
    if (filter.status !== 'draft') {
      for (const f of finals) out.push({ ...f, status: 'final' });
    }
    if (filter.status !== 'final') {
      const final = new Set(finals.map((f) => f.period));
      const first = finals[0]?.period ?? created;
      let p = [from, first < created ? first : created].reduce((a, b) => (a > b ? a : b));
      // Bounded: at most limit drafts, each month at most once (1970-01..2199-12).
      let drafts = 0;
      for (; p <= to && drafts < limit; p = shiftPeriod(p, 1)) {
        if (final.has(p)) continue;
        out.push({ period: p, status: 'draft', currency: tenant.currency });
        drafts += 1;
      }
    }
    return out.sort((a, b) => (a.period < b.period ? -1 : 1)).slice(0, limit);
  }

  /** The invoice of a month: the stored final one (with its credit notes listed) or a live draft. */
  async get(
    tenantId: string,
    period: string,
  ): Promise<{ invoice: InvoiceDocument; tenant: TenantRow }> {
    const tenant = await this.tenants.require(tenantId);
    const { startMs } = periodBounds(period, tenant.timeZone);
    if (startMs > this.clock.now()) {
      throw new UnprocessableError('PERIOD_NOT_STARTED', 'period', `${period} has not started yet`);
    }
    const final = await this.verified(this.invoices.findFinal(tenant.id, period));
    if (final !== null) {
      const notes = await this.verified(this.creditNotes.ofInvoice(tenant.id, period));
      return { invoice: withCreditNotes(final, notes), tenant };
    }
    const assignments = toAssignments(await this.tenantRepository.assignedPlans([tenant.id]));
    return { invoice: await this.draft(tenant, period, assignments), tenant };
  }

  /**
   * The PDF: a final invoice's stored bytes (hash checked), a draft rendered now. A final invoice
   * closed before PDFs were stored gets its PDF rendered from its stored content and stored on
   * the first download; every later download returns those bytes.
   */
  async pdf(tenant: TenantRow, invoice: InvoiceDocument): Promise<Buffer> {
    if (invoice.status !== 'final' || invoice.number === null) {
      return this.renderPdf(invoice, await this.daily(tenant, invoice));
    }
    const number = invoice.number;
    const stored = await this.verified(this.invoices.storedPdf(number));
    if (stored !== null) return stored;
    const { creditNotes: _listed, ...content } = invoice;
    const rendered = await this.renderPdf(content, await this.daily(tenant, invoice));
    return this.verified(this.invoices.storePdfOnce(number, rendered));
  }

  renderPdf(invoice: InvoiceDocument, daily: readonly DailyUsagePoint[]): Promise<Buffer> {
    return renderInvoicePdf(invoice, {
      providerName: this.config.providerName,
      daily,
      assets: this.config.invoice,
    });
  }

  renderCreditNotePdf(note: CreditNoteDocument): Promise<Buffer> {
    return renderCreditNotePdf(note, {
      providerName: this.config.providerName,
      assets: this.config.invoice,
    });
  }

  /** Counts and logs a stored document whose hash does not match, then lets the 500 through. */
  async verified<T>(read: Promise<T>): Promise<T> {
    try {
      return await read;
    } catch (error) {
      if (error instanceof IntegrityError) {
        this.integrityFailures.inc();
        this.logger.error(
          { document: error.documentNumber, err: error },
          'stored document does not match its SHA-256: refusing to serve it',
        );
      }
      throw error;
    }
  }

  /** Seller, buyer, tax, terms and locale of a tenant's invoices. */
  billingOf(tenant: TenantRow): InvoiceBilling {
    const b = tenant.billing;
    return {
      seller: this.config.invoice.seller,
      buyer: {
        legalName: b.legalName ?? tenant.name,
        address: b.address ?? [],
        taxId: b.taxId,
        email: b.email,
      },
      tax: { ratePercent: b.taxRate, exemptionReason: b.taxExemptionReason },
      paymentTermsDays: b.paymentTermsDays,
      locale: b.locale,
    };
  }

  /**
   * The month as it stands now, with adjustments for closed months that received late usage,
   * tax lines and the billing details of today.
   */
  async draft(
    tenant: TenantRow,
    period: string,
    assignments: readonly PlanAssignment[],
  ): Promise<InvoiceDocument> {
    const adjustments = await this.adjustments(tenant, period, assignments);
    return withBilling(
      await this.price(tenant, period, assignments, adjustments),
      this.billingOf(tenant),
    );
  }

  /**
   * The month's usage lines from its start up to `untilMs` (the hour buckets that start before
   * it), priced exactly as its invoice prices them; without adjustments and billing details.
   * For month-to-date figures (GET /v1/tenants/:id/overview).
   */
  priceUntil(
    tenant: TenantRow,
    period: string,
    untilMs: number,
    assignments: readonly PlanAssignment[],
  ): Promise<InvoiceDocument> {
    return this.price(tenant, period, assignments, [], untilMs);
  }

  private async price(
    tenant: TenantRow,
    period: string,
    assignments: readonly PlanAssignment[],
    adjustments: readonly InvoiceLine[],
    untilMs?: number,
  ): Promise<InvoiceDocument> {
    const { startMs, endMs } = periodBounds(period, tenant.timeZone);
    const cutMs = untilMs === undefined ? endMs : Math.min(Math.max(untilMs, startMs), endMs);
    const segments = planSegments(startMs, cutMs, tenant.timeZone, assignments);
    const usage = await this.invoices.segmentUsage(
      tenant.id,
      startMs,
      cutMs,
      segments.map((s) => s.fromMs),
    );
    return calculateInvoice({
      tenant: {
        id: tenant.id,
        name: tenant.name,
        timeZone: tenant.timeZone,
        currency: tenant.currency,
      },
      period,
      periodStartMs: startMs,
      periodEndMs: endMs,
      segments,
      usage,
      adjustments,
    });
  }

  /**
   * One line per closed month (within the lookback) whose ledger sums moved since it was last
   * billed: that month priced now minus everything already billed for it.
   */
  private async adjustments(
    tenant: TenantRow,
    period: string,
    assignments: readonly PlanAssignment[],
  ): Promise<InvoiceLine[]> {
    if (this.config.adjustmentLookbackMonths === 0) return [];
    // Every final from the lookback on, also those after `period`: when months were closed out
    // of order, a later final may already have settled a month, and must count.
    const finals = await this.invoices.finals(
      tenant.id,
      shiftPeriod(period, -this.config.adjustmentLookbackMonths),
      '9999-12',
    );
    const lines: InvoiceLine[] = [];
    for (const [i, final] of finals.entries()) {
      if (final.period >= period) break;
      const settlement = settlementOf(final, finals.slice(i + 1));
      const { startMs, endMs } = periodBounds(final.period, tenant.timeZone);
      const now = await this.invoices.usageTotals(tenant.id, startMs, endMs);
      if (usageTotalsEqual(now, settlement.usageTotals)) continue;
      const repriced = await this.price(tenant, final.period, assignments, []);
      const line = adjustmentLine(repriced, settlement);
      if (line !== null) lines.push(line);
    }
    return lines;
  }

  /** Daily usage (the usage basis) for the PDF chart, every local day of the month. */
  async daily(tenant: TenantRow, invoice: InvoiceDocument): Promise<DailyUsagePoint[]> {
    const startMs = Date.parse(invoice.periodStart);
    const endMs = Date.parse(invoice.periodEnd);
    const rows = await this.invoices.daily(tenant.id, tenant.timeZone, startMs, endMs);
    const byDay = new Map(rows.map((r) => [localDay(r.dayStartMs, tenant.timeZone), r]));
    const [year, month] = invoice.period.split('-').map(Number) as [number, number];
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    return Array.from({ length: days }, (_, i) => {
      const day = `${invoice.period}-${String(i + 1).padStart(2, '0')}`;
      const r = byDay.get(day);
      return {
        day,
        cpuHours:
          r === undefined ? 0 : new Decimal(r.cpuCoreSeconds).div(SECONDS_PER_HOUR).toNumber(),
        memoryGibHours:
          r === undefined
            ? 0
            : byteSecondsToGibSeconds(r.memoryByteSeconds).div(SECONDS_PER_HOUR).toNumber(),
      };
    });
  }
}

/** A final invoice as read: its stored content, and its credit notes listed when there are any. */
export function withCreditNotes(
  invoice: InvoiceDocument,
  notes: readonly CreditNoteDocument[],
): InvoiceDocument {
  return notes.length === 0 ? invoice : { ...invoice, creditNotes: notes.map(summaryOf) };
}

function summaryOf(note: CreditNoteDocument): NonNullable<InvoiceDocument['creditNotes']>[number] {
  return {
    number: note.number,
    net: note.net,
    tax: note.tax,
    gross: note.gross,
    reason: note.reason,
    issuedAt: note.issuedAt,
  };
}

function localDay(ms: number, timeZone: string): string {
  return localDate(ms, timeZone);
}

const planCache = new Map<string, PricePlan>();

/** Ledger rows → pricing plans (tiers parsed once per plan version: versions are immutable). */
export function toAssignments(rows: readonly AssignedPlanRow[]): PlanAssignment[] {
  return rows.map((r) => {
    const key = `${r.planId}\u0000${r.planVersion}`;
    let plan = planCache.get(key);
    if (plan === undefined) {
      plan = pricePlanOfStored({ ...r, id: r.planId, version: r.planVersion });
      if (planCache.size > 10_000) planCache.clear();
      planCache.set(key, plan);
    }
    return { effectiveFromMs: r.effectiveFrom.getTime(), plan };
  });
}
