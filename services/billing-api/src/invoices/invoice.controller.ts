import {
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotAcceptableResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { type Response } from 'express';
import { type BillingConfig } from '../config';
import { AdminOnly, TenantScoped } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PeriodPipe } from '../common/period.pipe';
import { BILLING_CONFIG } from '../common/tokens';
import { type InvoiceDocument } from './domain';
import {
  NotAcceptableError,
  UnprocessableError,
  ValidationFailedError,
} from '../common/billing.errors';
import { negotiate, type Offer } from '../common/content-negotiation';
import { type Page } from '../common/page.dto';
import { PageCursors } from '../common/page-cursor';
import {
  CloseResultDto,
  ExportQueryDto,
  InvoiceDto,
  InvoiceListQueryDto,
  InvoicePageDto,
  InvoiceQueryDto,
  type InvoiceSummaryDto,
} from './invoice.dto';
import { InvoiceExportService } from './invoice-export.service';
import { InvoiceService } from './invoice.service';
import { hostname } from 'node:os';
import { RecordedCloseService } from '../schedule/recorded-close.service';
import { type CloseResult } from './period-close.service';
import { invoiceCsv } from './render/invoice-csv.renderer';

@ApiTags('invoices')
@Controller()
export class InvoiceController {
  constructor(
    private readonly invoices: InvoiceService,
    private readonly closer: RecordedCloseService,
    private readonly exporter: InvoiceExportService,
    private readonly cursors: PageCursors,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  @Get('v1/tenants/:id/invoices')
  @TenantScoped()
  @ApiOperation({
    operationId: 'listTenantInvoices',
    summary: 'A tenant’s invoices, oldest month first: final ones and the open months’ drafts',
    description:
      'From the tenant’s registration month (or an earlier final invoice) to the current month ' +
      'of its zone. Filters: `from`/`to` periods (inclusive), `status`.',
  })
  @ApiOkResponse({ type: InvoicePageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor, from, to, status' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'RANGE_INVALID' })
  async list(
    @Param('id') id: string,
    @Query() query: InvoiceListQueryDto,
  ): Promise<Page<InvoiceSummaryDto>> {
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
      throw new UnprocessableError(
        'RANGE_INVALID',
        'to',
        `must not be before from (${query.from})`,
      );
    }
    return this.cursors.page(
      ['invoices', id, query.from, query.to, query.status],
      query,
      (after, rows) => this.invoices.summaries(id, query, after, rows),
      (row) => row.period,
      (r) =>
        r.status === 'final'
          ? {
              period: r.period,
              status: r.status,
              number: r.number,
              currency: r.currency,
              total: r.total,
              issuedAt: r.issuedAt.toISOString(),
              contentHash: r.contentHash,
            }
          : {
              period: r.period,
              status: r.status,
              number: null,
              currency: r.currency,
              total: null,
              issuedAt: null,
              contentHash: null,
            },
    );
  }

  @Get('v1/tenants/:id/invoices/:period')
  @TenantScoped()
  @ApiOperation({
    operationId: 'getInvoice',
    summary: 'The invoice of a month: the stored final invoice, or a live draft while open',
    description: 'JSON by default; `?format=csv` or `?format=pdf` for the documents.',
  })
  @ApiProduces('application/json', 'text/csv', 'application/pdf')
  @ApiOkResponse({ type: InvoiceDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'period not YYYY-MM, unknown format',
  })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'PERIOD_NOT_STARTED' })
  @ApiNotAcceptableResponse({
    type: ErrorResponseDto,
    description: 'NOT_ACCEPTABLE: Accept admits none of JSON, CSV, PDF (and no ?format=)',
  })
  async get(
    @Param('id') id: string,
    @Param('period', PeriodPipe) period: string,
    @Query() query: InvoiceQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<InvoiceDocument | StreamableFile> {
    res.vary('Accept');
    const format = query.format ?? chooseFormat(accept, INVOICE_OFFERS);
    const { invoice, tenant } = await this.invoices.get(id, period);
    const name = `${invoice.number ?? `draft-${invoice.tenantId}-${invoice.period}`}`;
    switch (format) {
      case 'json':
        return invoice;
      case 'csv':
        return new StreamableFile(Buffer.from(invoiceCsv(invoice), 'utf8'), {
          type: 'text/csv; charset=utf-8',
          disposition: `attachment; filename="${name}.csv"`,
        });
      case 'pdf': {
        const pdf = await this.invoices.pdf(tenant, invoice);
        return new StreamableFile(pdf, {
          type: 'application/pdf',
          disposition: `inline; filename="${name}.pdf"`,
        });
      }
    }
  }

  @Post('v1/periods/:period/close')
  @AdminOnly()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'closePeriod',
    summary: 'Make every tenant’s invoice of the month final (numbered, hashed, immutable)',
    description:
      'Allowed from the period end in the last tenant zone plus the grace time. Idempotent.',
  })
  @ApiOkResponse({ type: CloseResultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'PERIOD_NOT_CLOSABLE (before the grace time)',
  })
  close(@Param('period', PeriodPipe) period: string): Promise<CloseResult> {
    // Recorded like the scheduler's and the CLI's closes: `billing schedule` shows the last run.
    return this.closer.close(period, {
      startedBy: 'api',
      instance: `${hostname()}:${process.pid}`,
    });
  }

  @Get('v1/invoices/export')
  @AdminOnly()
  @ApiOperation({
    operationId: 'exportInvoices',
    summary: 'Every tenant’s invoice of the month, streamed as CSV or JSON Lines',
  })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'CSV (header + rows per invoice) or one invoice JSON per line' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotAcceptableResponse({
    type: ErrorResponseDto,
    description: 'NOT_ACCEPTABLE: Accept admits neither CSV nor JSON Lines (and no ?format=)',
  })
  async export(
    @Query() query: ExportQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const format = query.format ?? chooseFormat(accept, EXPORT_OFFERS);
    res.vary('Accept');
    res.status(200);
    res.setHeader(
      'Content-Type',
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
    );
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="invoices-${query.period}.${format}"`,
    );
    for await (const chunk of this.exporter.chunks(query.period, format)) {
      if (res.destroyed) return;
      // Backpressure: wait for the client before computing the next batch.
      if (!res.write(chunk)) await drainOrClose(res);
    }
    res.end();
  }
}

const INVOICE_OFFERS: readonly Offer<'json' | 'csv' | 'pdf'>[] = [
  { format: 'json', mediaType: 'application/json' },
  { format: 'csv', mediaType: 'text/csv' },
  { format: 'pdf', mediaType: 'application/pdf' },
];

const EXPORT_OFFERS: readonly Offer<'csv' | 'jsonl'>[] = [
  { format: 'csv', mediaType: 'text/csv' },
  { format: 'jsonl', mediaType: 'application/x-ndjson' },
  { format: 'jsonl', mediaType: 'application/jsonl' },
];

/** The representation Accept asks for (used when no `?format=` chose one: the query wins). */
function chooseFormat<F extends string>(
  accept: string | undefined,
  offers: readonly Offer<F>[],
): F {
  const result = negotiate(accept, offers);
  switch (result.kind) {
    case 'chosen':
      return result.format;
    case 'invalid':
      throw new ValidationFailedError([{ field: 'Accept', message: result.reason }]);
    case 'none':
      throw new NotAcceptableError([...new Set(offers.map((o) => o.mediaType))]);
  }
}

/** Resolves when the client has taken the buffered data, or has gone; leaves no listener behind. */
function drainOrClose(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
