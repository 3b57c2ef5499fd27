import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { IntegrityError } from '../common/billing.errors';
import { groupBy } from '../common/database.provider';
import { execute, firstRow, rows } from '../common/sql-rows';
import { assignmentsFingerprint } from '../tenants/tenant.repository';
import {
  invoiceContentHash,
  invoiceNumber,
  type InvoiceDocument,
  type SegmentUsage,
  sha256Hex,
  type UsageTotals,
} from './domain';
import {
  AssignmentRow,
  completenessOfRow,
  ContentRow,
  CounterRow,
  DailyUsageRow,
  FinalSummaryDbRow,
  InvoiceContentRow,
  PdfRow,
  SegmentUsageRow,
  SumsRow,
  TenantContentRow,
  TenantIdRow,
  TenantPeriodRow,
  totalsOf,
} from './invoice.rows';

const SUMS = `sum(cpu_usage_core_seconds)::text AS cpu_usage,
  sum(cpu_allocation_core_seconds)::text AS cpu_allocation,
  sum(cpu_max_core_seconds)::text AS cpu_max,
  sum(memory_usage_byte_seconds)::text AS memory_usage,
  sum(memory_allocation_byte_seconds)::text AS memory_allocation,
  sum(memory_max_byte_seconds)::text AS memory_max,
  sum(observed_ms)::text AS observed_ms,
  sum(gap_ms)::text AS gap_ms`;

/** The completeness counters (libs/pricing completeness.ts) beside the sums. */
const COMPLETENESS_SUMS = `sum(inferred_gap_ms)::text AS inferred_gap_ms,
  sum(samples_expected)::text AS samples_expected,
  sum(samples_observed)::text AS samples_observed,
  sum(samples_thinned)::text AS samples_thinned,
  sum(declared_ms)::text AS declared_ms,
  sum(declared_gap_ms)::text AS declared_gap_ms`;

export interface DailyRow {
  readonly dayStartMs: number;
  readonly cpuCoreSeconds: string;
  readonly memoryByteSeconds: string;
}

export interface FinalSummaryRow {
  readonly period: string;
  readonly number: string;
  readonly currency: string;
  readonly total: string;
  readonly issuedAt: Date;
  readonly contentHash: string;
}

@Injectable()
export class InvoiceRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The month's usage per resource and plan segment: segment i holds the buckets starting in
   * [starts[i], starts[i+1]) (width_bucket over the segment starts), all in one scan of the
   * tenant's month through the (tenant_id, bucket_start) index.
   */
  async segmentUsage(
    tenantId: string,
    startMs: number,
    endMs: number,
    segmentStartsMs: readonly number[],
  ): Promise<SegmentUsage[]> {
    const found = await rows(
      this.dataSource,
      SegmentUsageRow,
      // The name from the resource dimension, joined once per resource after the sums.
      `SELECT u.*, r.name AS resource_name
       FROM (SELECT width_bucket(bucket_start, $4::timestamptz[]) - 1 AS segment, resource_id,
                    min(resource_kind) AS resource_kind, ${SUMS}, ${COMPLETENESS_SUMS}
             FROM usage_bucket
             WHERE tenant_id = $1 AND bucket_start >= $2 AND bucket_start < $3
             GROUP BY 1, 2) AS u
       LEFT JOIN resource AS r ON r.tenant_id = $1 AND r.resource_id = u.resource_id`,
      [
        tenantId,
        new Date(startMs),
        new Date(endMs),
        segmentStartsMs.map((ms) => new Date(ms).toISOString()),
      ],
    );
    return found.map((r) => ({
      segmentIndex: r.segment,
      resourceId: r.resource_id,
      resourceKind: r.resource_kind,
      resourceName: r.resource_name,
      ...totalsOf(r),
      completeness: completenessOfRow(r),
    }));
  }

  async usageTotals(tenantId: string, startMs: number, endMs: number): Promise<UsageTotals> {
    const row = await firstRow(
      this.dataSource,
      SumsRow,
      `SELECT ${SUMS} FROM usage_bucket WHERE tenant_id = $1 AND bucket_start >= $2 AND bucket_start < $3`,
      [tenantId, new Date(startMs), new Date(endMs)],
    );
    return totalsOf(row);
  }

  /** Usage basis sums per local day of the zone, for the PDF chart. */
  async daily(
    tenantId: string,
    timeZone: string,
    startMs: number,
    endMs: number,
  ): Promise<DailyRow[]> {
    const found = await rows(
      this.dataSource,
      DailyUsageRow,
      `SELECT (extract(epoch FROM date_trunc('day', bucket_start AT TIME ZONE $4) AT TIME ZONE $4) * 1000)::bigint::text AS day_ms,
              sum(cpu_usage_core_seconds)::text AS cpu, sum(memory_usage_byte_seconds)::text AS memory
       FROM usage_bucket WHERE tenant_id = $1 AND bucket_start >= $2 AND bucket_start < $3
       GROUP BY 1 ORDER BY 1`,
      [tenantId, new Date(startMs), new Date(endMs), timeZone],
    );
    return found.map((r) => ({
      dayStartMs: Number(r.day_ms),
      cpuCoreSeconds: r.cpu,
      memoryByteSeconds: r.memory,
    }));
  }

  /** The stored final invoice, its content hash checked (IntegrityError when it differs). */
  async findFinal(tenantId: string, period: string): Promise<InvoiceDocument | null> {
    const row = await firstRow(
      this.dataSource,
      InvoiceContentRow,
      `SELECT content, content_hash FROM invoice WHERE tenant_id = $1 AND period = $2`,
      [tenantId, period],
    );
    if (row === null) return null;
    if (
      invoiceContentHash(row.content) !== row.content_hash ||
      row.content.contentHash !== row.content_hash
    ) {
      throw new IntegrityError(row.content.number ?? `${tenantId}/${period}`, 'content');
    }
    return row.content;
  }

  /** The final invoice with this number. */
  async findByNumber(number: string): Promise<InvoiceDocument | null> {
    const row = await firstRow(
      this.dataSource,
      TenantPeriodRow,
      `SELECT tenant_id, period FROM invoice WHERE number = $1`,
      [number],
    );
    return row === null ? null : this.findFinal(row.tenant_id, row.period);
  }

  /** The stored PDF of a final document, or null when none was stored (finalised before PDFs were). */
  async storedPdf(number: string): Promise<Buffer | null> {
    const row = await firstRow(
      this.dataSource,
      PdfRow,
      `SELECT pdf, sha256 FROM document_pdf WHERE number = $1`,
      [number],
    );
    if (row === null) return null;
    if (sha256Hex(row.pdf) !== row.sha256) throw new IntegrityError(number, 'PDF');
    return row.pdf;
  }

  /** Stores a PDF unless one is stored already; returns the stored one (first writer wins). */
  async storePdfOnce(number: string, pdf: Buffer): Promise<Buffer> {
    await insertPdfs(this.dataSource.manager, [number], [pdf]);
    const stored = await this.storedPdf(number);
    if (stored === null) throw new Error(`document_pdf ${number}: missing right after its insert`);
    return stored;
  }

  /** Final invoices of a tenant with fromPeriod <= period < toPeriod, oldest first. */
  async finals(tenantId: string, fromPeriod: string, toPeriod: string): Promise<InvoiceDocument[]> {
    const found = await rows(
      this.dataSource,
      ContentRow,
      `SELECT content FROM invoice WHERE tenant_id = $1 AND period >= $2 AND period < $3 ORDER BY period`,
      [tenantId, fromPeriod, toPeriod],
    );
    return found.map((r) => r.content);
  }

  /** Summaries (no content) of a tenant's final invoices with from <= period <= to. */
  async finalSummaries(tenantId: string, from: string, to: string): Promise<FinalSummaryRow[]> {
    const found = await rows(
      this.dataSource,
      FinalSummaryDbRow,
      `SELECT period, number, currency, total::text AS total, finalized_at, content_hash
       FROM invoice WHERE tenant_id = $1 AND period >= $2 AND period <= $3 ORDER BY period`,
      [tenantId, from, to],
    );
    return found.map((r) => ({
      period: r.period,
      number: r.number,
      currency: r.currency,
      total: r.total,
      issuedAt: r.finalized_at,
      contentHash: r.content_hash,
    }));
  }

  /** The final invoices of the period among these tenants. */
  async finalsOf(
    period: string,
    tenantIds: readonly string[],
  ): Promise<Map<string, InvoiceDocument>> {
    if (tenantIds.length === 0) return new Map();
    const found = await rows(
      this.dataSource,
      TenantContentRow,
      `SELECT tenant_id, content FROM invoice WHERE period = $1 AND tenant_id = ANY($2)`,
      [period, tenantIds],
    );
    return new Map(found.map((r) => [r.tenant_id, r.content]));
  }

  async finalTenantIds(period: string, tenantIds: readonly string[]): Promise<Set<string>> {
    if (tenantIds.length === 0) return new Set();
    const found = await rows(
      this.dataSource,
      TenantIdRow,
      `SELECT tenant_id FROM invoice WHERE period = $1 AND tenant_id = ANY($2)`,
      [period, tenantIds],
    );
    return new Set(found.map((r) => r.tenant_id));
  }

  /**
   * Stores drafts as final with the next numbers of their period, in the given order, in one
   * transaction. The counter row is locked for the transaction, so numbers are taken by one
   * closer at a time, and a rolled-back transaction takes none (gap-free). Invoices already final
   * (a concurrent or earlier close) stay as they are and use no number. `inTransaction` runs in
   * the same transaction with the invoices just made final (the outbox's invoice.finalized).
   */
  async finalizeAll(
    period: string,
    drafts: readonly {
      tenantId: string;
      /** assignmentsFingerprint of the assignments the draft was priced with */
      assignments: string;
      makeFinal: (number: string) => InvoiceDocument;
    }[],
    hooks: {
      /** Renders a final invoice's PDF, stored with it (rendered once, here). */
      renderPdf?: (invoice: InvoiceDocument) => Promise<Buffer>;
      /** Runs in the same transaction with the invoices just made final (the outbox). */
      inTransaction?: (tx: EntityManager, finals: readonly InvoiceDocument[]) => Promise<void>;
    } = {},
  ): Promise<{ created: number; existing: number; stale: string[] }> {
    if (drafts.length === 0) return { created: 0, existing: 0, stale: [] };
    return this.dataSource.transaction('READ COMMITTED', async (tx) => {
      await execute(tx, `INSERT INTO invoice_counter (period) VALUES ($1) ON CONFLICT DO NOTHING`, [
        period,
      ]);
      const counter = await firstRow(
        tx,
        CounterRow,
        `SELECT last_sequence FROM invoice_counter WHERE period = $1 FOR UPDATE`,
        [period],
      );
      // The tenants' rows, in id order (no deadlock between closers): a plan assignment takes
      // the same lock (TenantRepository.assignUnlessClosed), so none commits in between.
      const tenantIds = drafts.map((d) => d.tenantId);
      await execute(tx, `SELECT id FROM tenant WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, [
        tenantIds,
      ]);
      // Read after the lock: whatever a concurrent close finalised has committed by now.
      const existing = await this.finalTenantIdsIn(tx, period, tenantIds);
      // A draft priced before an assignment that committed since is stale: not made final now,
      // the caller prices it again.
      const current = await this.assignmentFingerprintsIn(tx, tenantIds);
      const stale: string[] = [];
      let sequence = counter?.last_sequence ?? 0;
      const made: InvoiceDocument[] = [];
      const sequences: number[] = [];
      for (const draft of drafts) {
        if (existing.has(draft.tenantId)) continue;
        if ((current.get(draft.tenantId) ?? '') !== draft.assignments) {
          stale.push(draft.tenantId);
          continue;
        }
        sequence += 1;
        const invoice = draft.makeFinal(invoiceNumber(period, sequence));
        if (invoice.number === null || invoice.contentHash === null) {
          throw new Error('finalize: the invoice must be numbered and hashed');
        }
        made.push(invoice);
        sequences.push(sequence);
      }
      if (made.length > 0) {
        await execute(
          tx,
          `INSERT INTO invoice (tenant_id, period, number, sequence, currency, total, content, content_hash, finalized_at)
           SELECT t, $1, n, s, c, tot, j::jsonb, h, f
           FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::numeric[], $7::text[], $8::text[], $9::timestamptz[])
             AS x(t, n, s, c, tot, j, h, f)`,
          [
            period,
            made.map((i) => i.tenantId),
            made.map((i) => i.number),
            sequences,
            made.map((i) => i.currency),
            made.map((i) => i.total),
            made.map((i) => JSON.stringify(i)),
            made.map((i) => i.contentHash),
            made.map((i) => i.issuedAt),
          ],
        );
        await execute(tx, `UPDATE invoice_counter SET last_sequence = $2 WHERE period = $1`, [
          period,
          sequence,
        ]);
        const { renderPdf, inTransaction } = hooks;
        if (renderPdf !== undefined) {
          // Rendered once, here, in the transaction that makes the invoices final: the stored
          // bytes are what every download returns, whatever the ledger receives later.
          const pdfs: Buffer[] = [];
          for (const invoice of made) pdfs.push(await renderPdf(invoice));
          await insertPdfs(
            tx,
            made.map((i) => i.number ?? ''),
            pdfs,
          );
        }
        await inTransaction?.(tx, made);
      }
      return {
        created: made.length,
        existing: drafts.length - made.length - stale.length,
        stale,
      };
    });
  }

  private async assignmentFingerprintsIn(
    tx: EntityManager,
    tenantIds: readonly string[],
  ): Promise<Map<string, string>> {
    const found = await rows(
      tx,
      AssignmentRow,
      `SELECT tenant_id, effective_from, plan_id, plan_version FROM plan_assignment
       WHERE tenant_id = ANY($1) ORDER BY tenant_id, effective_from`,
      [tenantIds],
    );
    const byTenant = groupBy(found, (r) => r.tenant_id);
    return new Map(
      [...byTenant].map(([id, list]) => [
        id,
        assignmentsFingerprint(
          list.map((r) => ({
            effectiveFrom: r.effective_from,
            planId: r.plan_id,
            planVersion: r.plan_version,
          })),
        ),
      ]),
    );
  }

  private async finalTenantIdsIn(
    tx: EntityManager,
    period: string,
    tenantIds: readonly string[],
  ): Promise<Set<string>> {
    const found = await rows(
      tx,
      TenantIdRow,
      `SELECT tenant_id FROM invoice WHERE period = $1 AND tenant_id = ANY($2)`,
      [period, tenantIds],
    );
    return new Set(found.map((r) => r.tenant_id));
  }
}

/** Inserts PDFs with their SHA-256; an existing row is kept (documents never change). */
export async function insertPdfs(
  tx: EntityManager,
  numbers: readonly string[],
  pdfs: readonly Buffer[],
): Promise<void> {
  if (numbers.length === 0) return;
  await execute(
    tx,
    `INSERT INTO document_pdf (number, pdf, sha256)
     SELECT n, p, s FROM unnest($1::text[], $2::bytea[], $3::text[]) AS x(n, p, s)
     ON CONFLICT (number) DO NOTHING`,
    [numbers, pdfs, pdfs.map((p) => sha256Hex(p))],
  );
}
