import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly, TenantScoped } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { type CreditNoteDocument } from './domain';
import { CreateCreditNoteDto, CreditNoteDto } from './credit-note.dto';
import { CreditNoteService } from './credit-note.service';
import { InvoiceQueryDto } from './invoice.dto';
import { InvoiceRepository } from './invoice.repository';
import { InvoiceService } from './invoice.service';

@ApiTags('invoices')
@Controller()
export class CreditNoteController {
  constructor(
    private readonly notes: CreditNoteService,
    private readonly invoices: InvoiceService,
    private readonly repository: InvoiceRepository,
  ) {}

  @Post('v1/invoices/:id/credit-notes')
  @AdminOnly()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createCreditNote',
    summary: 'Correct a final invoice with a credit note (full, or per-line net amounts)',
    description:
      '`:id` is the invoice number. Final on creation, numbered CN-YYYY-NNNNNN (gap-free per year), its PDF stored once. Tax at the invoice’s rate.',
  })
  @ApiBody({ type: CreateCreditNoteDto })
  @ApiCreatedResponse({ type: CreditNoteDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'VALIDATION_FAILED naming the field',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'INVOICE_NOT_FOUND' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'CREDIT_EXCEEDS_REMAINING, NOTHING_TO_CREDIT',
  })
  create(@Param('id') id: string, @Body() body: unknown): Promise<CreditNoteDocument> {
    return this.notes.create(id, body);
  }

  @Get('v1/tenants/:id/credit-notes/:number')
  @TenantScoped()
  @ApiOperation({
    operationId: 'getCreditNote',
    summary: 'A credit note as JSON, or its stored PDF (`?format=pdf`)',
  })
  @ApiProduces('application/json', 'application/pdf')
  @ApiOkResponse({ type: CreditNoteDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'CREDIT_NOTE_NOT_FOUND' })
  @ApiInternalServerErrorResponse({
    type: ErrorResponseDto,
    description: 'DOCUMENT_INTEGRITY: the stored bytes do not match their SHA-256',
  })
  async get(
    @Param('id') id: string,
    @Param('number') number: string,
    @Query() query: InvoiceQueryDto,
  ): Promise<CreditNoteDocument | StreamableFile> {
    const note = await this.notes.get(id, number);
    if ((query.format ?? 'json') !== 'pdf') return note;
    const pdf = await this.invoices.verified(this.repository.storedPdf(note.number));
    if (pdf === null) throw new Error(`credit note ${note.number} has no stored PDF`);
    return new StreamableFile(pdf, {
      type: 'application/pdf',
      disposition: `inline; filename="${note.number}.pdf"`,
    });
  }
}
