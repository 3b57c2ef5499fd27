import { Injectable } from '@nestjs/common';
import {
  ConflictError,
  type FieldProblem,
  NotFoundError,
  ValidationFailedError,
} from '../common/billing.errors';
import { Clock } from '../common/clock';
import { fieldName } from '../common/text-input';
import { TenantService } from '../tenants/tenant.service';
import {
  buildCreditNote,
  type CreditNoteDocument,
  CreditNoteError,
  type CreditNoteRequest,
} from './domain';
import { CreditNoteRepository } from './credit-note.repository';
import { InvoiceService } from './invoice.service';

const INVOICE_NUMBER = /^INV-\d{4}-\d{2}-\d{6}$/;
const CREDIT_NOTE_NUMBER = /^CN-\d{4}-\d{6}$/;

/** Credit notes: corrections of final invoices, final on creation, numbered per year. */
@Injectable()
export class CreditNoteService {
  constructor(
    private readonly notes: CreditNoteRepository,
    private readonly invoices: InvoiceService,
    private readonly tenants: TenantService,
    private readonly clock: Clock,
  ) {}

  async create(invoiceNumber: string, body: unknown): Promise<CreditNoteDocument> {
    if (!INVOICE_NUMBER.test(invoiceNumber)) {
      throw new ValidationFailedError([
        { field: 'id', message: 'must be an invoice number such as INV-2026-11-000001' },
      ]);
    }
    const request = parseRequest(body);
    const now = this.clock.now();
    try {
      const note = await this.invoices.verified(
        this.notes.create(
          invoiceNumber,
          new Date(now).getUTCFullYear(),
          (invoice, previous) => buildCreditNote(invoice, previous, request, now),
          (n) => this.invoices.renderCreditNotePdf(n),
        ),
      );
      if (note === null) {
        throw new NotFoundError('INVOICE_NOT_FOUND', `invoice ${invoiceNumber} does not exist`);
      }
      return note;
    } catch (error) {
      if (!(error instanceof CreditNoteError)) throw error;
      if (error.code === 'CREDIT_LINE_INVALID') {
        throw new ValidationFailedError([
          { field: error.field, message: error.message.slice(error.field.length + 2) },
        ]);
      }
      throw new ConflictError(error.code, error.message, error.field);
    }
  }

  async get(tenantId: string, number: string): Promise<CreditNoteDocument> {
    await this.tenants.require(tenantId);
    const note = CREDIT_NOTE_NUMBER.test(number)
      ? await this.invoices.verified(this.notes.find(tenantId, number))
      : null;
    if (note === null) {
      throw new NotFoundError('CREDIT_NOTE_NOT_FOUND', `credit note ${number} does not exist`);
    }
    return note;
  }
}

/** `{"reason", "lines"?: [{"lineIndex", "amount"}]}`; every shape problem named by its field. */
export function parseRequest(body: unknown): CreditNoteRequest {
  const problems: FieldProblem[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationFailedError([{ field: 'body', message: 'must be a JSON object' }]);
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'reason' && key !== 'lines')
      problems.push({
        field: fieldName(key),
        message: 'is not a credit-note field (reason, lines)',
      });
  }
  const reason = input.reason;
  if (typeof reason !== 'string') problems.push({ field: 'reason', message: 'must be a string' });
  else if (reason.trim().length === 0 || [...reason].length > 500) {
    problems.push({ field: 'reason', message: 'must be 1 to 500 characters' });
  }
  const lines: { lineIndex: number; amount: string }[] = [];
  if (input.lines !== undefined) {
    if (!Array.isArray(input.lines)) problems.push({ field: 'lines', message: 'must be an array' });
    else if (input.lines.length === 0 || input.lines.length > 1000) {
      problems.push({ field: 'lines', message: 'must hold 1 to 1000 lines' });
    } else {
      input.lines.forEach((l: unknown, i) => {
        const field = `lines[${i}]`;
        if (l === null || typeof l !== 'object' || Array.isArray(l)) {
          problems.push({ field, message: 'must be an object {lineIndex, amount}' });
          return;
        }
        const { lineIndex, amount, ...rest } = l as Record<string, unknown>;
        for (const key of Object.keys(rest))
          problems.push({
            field: `${field}.${fieldName(key)}`,
            message: 'is not a line field (lineIndex, amount)',
          });
        if (
          typeof lineIndex !== 'number' ||
          !Number.isInteger(lineIndex) ||
          lineIndex < 0 ||
          lineIndex > 100_000
        ) {
          problems.push({ field: `${field}.lineIndex`, message: 'must be a whole number ≥ 0' });
        }
        if (typeof amount !== 'string') {
          problems.push({
            field: `${field}.amount`,
            message: 'must be a decimal string such as "12.50"',
          });
        }
        if (typeof lineIndex === 'number' && typeof amount === 'string')
          lines.push({ lineIndex, amount });
      });
    }
  }
  if (problems.length > 0) throw new ValidationFailedError(problems);
  const text = (reason as string).trim();
  return input.lines === undefined
    ? { kind: 'full', reason: text }
    : { kind: 'lines', reason: text, lines };
}
