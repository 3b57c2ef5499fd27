import {
  Controller,
  Get,
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
import { CloseResultDto, ExportQueryDto, InvoiceDto, InvoiceQueryDto } from './invoice.dto';
import { InvoiceExportService } from './invoice-export.service';
import { InvoiceService } from './invoice.service';
import { type CloseResult, PeriodCloseService } from './period-close.service';
import { invoiceCsv } from './render/invoice-csv.renderer';

@ApiTags('invoices')
@Controller()
export class InvoiceController {
  constructor(
    private readonly invoices: InvoiceService,
    private readonly closer: PeriodCloseService,
    private readonly exporter: InvoiceExportService,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  @Get('v1/tenants/:id/invoices/:period')
  @TenantScoped()
  @ApiOperation({
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
  async get(
    @Param('id') id: string,
    @Param('period', PeriodPipe) period: string,
    @Query() query: InvoiceQueryDto,
  ): Promise<InvoiceDocument | StreamableFile> {
    const { invoice, tenant } = await this.invoices.get(id, period);
    const name = `${invoice.number ?? `draft-${invoice.tenantId}-${invoice.period}`}`;
    switch (query.format ?? 'json') {
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
    return this.closer.close(period);
  }

  @Get('v1/invoices/export')
  @AdminOnly()
  @ApiOperation({ summary: 'Every tenant’s invoice of the month, streamed as CSV or JSON Lines' })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'CSV (header + rows per invoice) or one invoice JSON per line' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async export(@Query() query: ExportQueryDto, @Res() res: Response): Promise<void> {
    const format = query.format ?? 'csv';
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
