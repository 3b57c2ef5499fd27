import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { IntegrityError } from '../common/billing.errors';
import { execute, firstRow, jsonDocument, rows } from '../common/sql-rows';
import {
  creditNoteContentHash,
  type CreditNoteDocument,
  creditNoteNumber,
  finalizeCreditNote,
  type InvoiceDocument,
} from './domain';
import { insertPdfs } from './invoice.repository';
import { CounterRow, InvoiceContentRow } from './invoice.rows';
import { enqueue } from '../events/event-outbox';
import { creditNoteIssued } from '../events/invoice-event.factory';

/** The rows this repository reads (common/sql-rows.ts); the invoice's are in invoice.rows.ts. */
const NoteRow = z.object({
  tenant_id: z.string(),
  content: jsonDocument<CreditNoteDocument>(),
  content_hash: z.string(),
});
const ContentOnlyRow = NoteRow.pick({ content: true });
const CheckedRow = NoteRow.pick({ content: true, content_hash: true });

/** What creating a credit note needs from inside its transaction. */
export type CreditNoteBuilder = (
  invoice: InvoiceDocument,
  previous: readonly CreditNoteDocument[],
) => Omit<CreditNoteDocument, 'number' | 'contentHash'>;

@Injectable()
export class CreditNoteRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Creates a credit note in one transaction: a transaction-scoped advisory lock on the invoice's
   * number (a row lock would need UPDATE on `invoice`, which the services' role does not hold)
   * makes two notes for one invoice be built one after the other from every earlier note, and
   * the year's counter row is locked so numbers are gap-free; the PDF is stored with it.
   */
  async create(
    invoiceNumber: string,
    year: number,
    build: CreditNoteBuilder,
    renderPdf: (note: CreditNoteDocument) => Promise<Buffer>,
  ): Promise<CreditNoteDocument | null> {
    return this.dataSource.transaction('READ COMMITTED', async (tx) => {
      await execute(tx, `SELECT pg_advisory_xact_lock(hashtext($1))`, [
        `metering-credit-note:${invoiceNumber}`,
      ]);
      const invoice = await firstRow(
        tx,
        InvoiceContentRow,
        `SELECT content, content_hash FROM invoice WHERE number = $1`,
        [invoiceNumber],
      );
      if (invoice === null) return null;
      if (invoice.content.contentHash !== invoice.content_hash) {
        throw new IntegrityError(invoiceNumber, 'content');
      }
      const previous = await rows(
        tx,
        ContentOnlyRow,
        `SELECT content FROM credit_note WHERE invoice_number = $1 ORDER BY number`,
        [invoiceNumber],
      );
      const draft = build(
        invoice.content,
        previous.map((p) => p.content),
      );
      await execute(
        tx,
        `INSERT INTO credit_note_counter (year) VALUES ($1) ON CONFLICT DO NOTHING`,
        [year],
      );
      const counter = await firstRow(
        tx,
        CounterRow,
        `SELECT last_sequence FROM credit_note_counter WHERE year = $1 FOR UPDATE`,
        [year],
      );
      const sequence = (counter?.last_sequence ?? 0) + 1;
      const note = finalizeCreditNote(draft, creditNoteNumber(year, sequence));
      await execute(
        tx,
        `INSERT INTO credit_note (number, year, sequence, tenant_id, period, invoice_number, currency,
           net, tax, gross, content, content_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`,
        [
          note.number,
          year,
          sequence,
          note.tenantId,
          note.period,
          note.invoiceNumber,
          note.currency,
          note.net,
          note.tax,
          note.gross,
          JSON.stringify(note),
          note.contentHash,
          note.issuedAt,
        ],
      );
      await execute(tx, `UPDATE credit_note_counter SET last_sequence = $2 WHERE year = $1`, [
        year,
        sequence,
      ]);
      await insertPdfs(tx, [note.number], [await renderPdf(note)]);
      // credit_note.issued in the outbox, in the transaction that issues the note.
      await enqueue(tx, creditNoteIssued(note, Date.parse(note.issuedAt)));
      return note;
    });
  }

  /** The credit notes of a final invoice, oldest first, each hash checked. */
  async ofInvoice(tenantId: string, period: string): Promise<CreditNoteDocument[]> {
    const found = await rows(
      this.dataSource,
      CheckedRow,
      `SELECT content, content_hash FROM credit_note WHERE tenant_id = $1 AND period = $2 ORDER BY number`,
      [tenantId, period],
    );
    return found.map((r) => checked(r.content, r.content_hash));
  }

  /** The credit notes of a period's final invoices among these tenants, by tenant. */
  async ofPeriod(
    period: string,
    tenantIds: readonly string[],
  ): Promise<Map<string, CreditNoteDocument[]>> {
    const out = new Map<string, CreditNoteDocument[]>();
    if (tenantIds.length === 0) return out;
    const found = await rows(
      this.dataSource,
      NoteRow,
      `SELECT tenant_id, content, content_hash FROM credit_note
       WHERE period = $1 AND tenant_id = ANY($2) ORDER BY number`,
      [period, tenantIds],
    );
    for (const r of found) {
      const list = out.get(r.tenant_id) ?? [];
      list.push(checked(r.content, r.content_hash));
      out.set(r.tenant_id, list);
    }
    return out;
  }

  async find(tenantId: string, number: string): Promise<CreditNoteDocument | null> {
    const row = await firstRow(
      this.dataSource,
      CheckedRow,
      `SELECT content, content_hash FROM credit_note WHERE tenant_id = $1 AND number = $2`,
      [tenantId, number],
    );
    return row === null ? null : checked(row.content, row.content_hash);
  }
}

function checked(note: CreditNoteDocument, hash: string): CreditNoteDocument {
  if (creditNoteContentHash(note) !== hash || note.contentHash !== hash) {
    throw new IntegrityError(note.number, 'content');
  }
  return note;
}
