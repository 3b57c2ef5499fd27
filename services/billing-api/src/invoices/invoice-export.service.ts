import { Inject, Injectable } from '@nestjs/common';
import { type BillingConfig } from '../config';
import { mapConcurrent } from '@metering/observability/resilience';
import { groupBy } from '../common/database.provider';
import { BILLING_CONFIG } from '../common/tokens';
import { TenantRepository } from '../tenants/tenant.repository';
import { canonicalJson, type InvoiceDocument } from './domain';
import { InvoiceRepository } from './invoice.repository';
import { CreditNoteRepository } from './credit-note.repository';
import { InvoiceService, toAssignments, withCreditNotes } from './invoice.service';
import { csvHeader, invoicesCsv } from './render/invoice-csv.renderer';

export type ExportFormat = 'csv' | 'jsonl';

/**
 * The month of every tenant, one batch of tenants at a time (keyset pagination): memory holds
 * one batch whatever the number of tenants. Final invoices as stored, others as live drafts.
 */
@Injectable()
export class InvoiceExportService {
  constructor(
    private readonly invoices: InvoiceRepository,
    private readonly tenants: TenantRepository,
    private readonly invoiceService: InvoiceService,
    private readonly creditNotes: CreditNoteRepository,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  count(): Promise<number> {
    return this.tenants.count();
  }

  async *batches(period: string): AsyncGenerator<InvoiceDocument[]> {
    let after: string | null = null;
    for (;;) {
      const batch = await this.tenants.batch(after, this.config.batchSize);
      if (batch.length === 0) return;
      after = batch[batch.length - 1]?.id ?? null;
      const finals = await this.invoices.finalsOf(
        period,
        batch.map((t) => t.id),
      );
      const notes = await this.invoiceService.verified(
        this.creditNotes.ofPeriod(period, [...finals.keys()]),
      );
      const open = batch.filter((t) => !finals.has(t.id));
      const plans = groupBy(
        await this.tenants.assignedPlans(open.map((t) => t.id)),
        (r) => r.tenantId,
      );
      const drafts = new Map(
        (
          await mapConcurrent(
            open,
            this.config.concurrency,
            async (t) =>
              [
                t.id,
                await this.invoiceService.draft(t, period, toAssignments(plans.get(t.id) ?? [])),
              ] as const,
          )
        ).map(([id, d]) => [id, d]),
      );
      yield batch.flatMap((t) => {
        const final = finals.get(t.id);
        const invoice =
          final === undefined ? drafts.get(t.id) : withCreditNotes(final, notes.get(t.id) ?? []);
        return invoice === undefined ? [] : [invoice];
      });
    }
  }

  /** Text chunks of the export: the CSV header first, then one chunk per batch. */
  async *chunks(
    period: string,
    format: ExportFormat,
    onBatch?: (invoices: number) => void,
  ): AsyncGenerator<string> {
    if (format === 'csv') yield csvHeader();
    for await (const batch of this.batches(period)) {
      onBatch?.(batch.length);
      if (batch.length === 0) continue;
      yield format === 'csv'
        ? invoicesCsv(batch)
        : batch.map((i) => `${canonicalJson(i)}\n`).join('');
    }
  }
}
