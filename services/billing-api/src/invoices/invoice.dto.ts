import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../common/page.dto';
import { IsPeriod } from '../common/validators';
import { TaxLineDto } from './credit-note.dto';

export class InvoiceQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv', 'pdf'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv', 'pdf'])
  format?: 'json' | 'csv' | 'pdf';
}

export class ExportQueryDto {
  @ApiProperty({ example: '2026-11' })
  @IsPeriod()
  period!: string;

  @ApiPropertyOptional({ enum: ['csv', 'jsonl'], default: 'csv' })
  @IsOptional()
  @IsIn(['csv', 'jsonl'])
  format?: 'csv' | 'jsonl';
}

export class TierLineDto {
  @ApiProperty({ example: 1 }) tier!: number;
  @ApiProperty({ type: String, nullable: true, example: '100' }) upTo!: string | null;
  @ApiProperty({ example: '0.040' }) unitPrice!: string;
  @ApiProperty({ example: '100', description: 'unit-hours in this tier' }) quantity!: string;
  @ApiProperty({ example: '4', description: 'unrounded' }) amount!: string;
}

export class UsageTotalsRecordDto {
  @ApiProperty() cpuUsageCoreSeconds!: string;
  @ApiProperty() cpuAllocationCoreSeconds!: string;
  @ApiProperty() cpuMaxCoreSeconds!: string;
  @ApiProperty() memoryUsageByteSeconds!: string;
  @ApiProperty() memoryAllocationByteSeconds!: string;
  @ApiProperty() memoryMaxByteSeconds!: string;
  @ApiProperty() observedMs!: string;
  @ApiProperty() gapMs!: string;
}

export class InvoiceLineDto {
  @ApiProperty({ enum: ['cpu', 'memory', 'minimum', 'adjustment'] }) meter!: string;
  @ApiProperty({ example: 'CPU (usage), plan std v1' }) description!: string;
  @ApiProperty({ example: '150.25', description: 'unit-hours (6 decimals, display)' })
  quantity!: string;
  @ApiProperty({ enum: ['vCPU-hour', 'GiB-hour', 'month', 'adjustment'] }) unit!: string;
  @ApiPropertyOptional({ description: 'exact unit-seconds' }) quantitySeconds?: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'flat price per unit-hour; null when tiered',
  })
  unitPrice!: string | null;
  @ApiPropertyOptional({ type: [TierLineDto] }) tiers?: TierLineDto[];
  @ApiProperty({ example: '5.75', description: 'rounded once, half-up, to the minor unit' })
  amount!: string;
  @ApiPropertyOptional() planId?: string;
  @ApiPropertyOptional() planVersion?: number;
  @ApiPropertyOptional({ enum: ['usage', 'allocation', 'max'] }) basis?: string;
  @ApiPropertyOptional({ description: 'segment start (plan changes split the month)' })
  from?: string;
  @ApiPropertyOptional() to?: string;
  @ApiPropertyOptional({ type: String, nullable: true, example: '0.9987' }) completeness?:
    string | null;
  @ApiPropertyOptional({ example: '2026-10' }) adjustsPeriod?: string;
  @ApiPropertyOptional({ type: UsageTotalsRecordDto }) usageTotals?: UsageTotalsRecordDto;
}

export class ResourceMeterDto {
  @ApiProperty() quantity!: string;
  @ApiProperty() quantitySeconds!: string;
}

export class ResourceBreakdownDto {
  @ApiProperty() resourceId!: string;
  @ApiProperty({ enum: ['container', 'vm'] }) resourceKind!: string;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'web-1',
    description: 'The container or domain name the collectors reported last; null when unknown',
  })
  resourceName?: string | null;
  @ApiProperty({ type: ResourceMeterDto }) cpu!: ResourceMeterDto;
  @ApiProperty({ type: ResourceMeterDto }) memory!: ResourceMeterDto;
  @ApiProperty({ description: 'share of the meter lines by quantity (informative)' })
  amount!: string;
  @ApiProperty({ type: String, nullable: true }) completeness!: string | null;
}

export class CompletenessDto {
  @ApiProperty({ description: 'ms between samples of an instance, within the gap limit' })
  observedMs!: string;
  @ApiProperty({ description: 'ms of silences longer than the gap limit (not billed as usage)' })
  gapMs!: string;
  @ApiPropertyOptional({
    description:
      'ms unseen after resources ended while their collector was down (inferred finals; not billed)',
  })
  inferredGapMs?: string;
  @ApiPropertyOptional({ description: 'samples the collectors should have produced' })
  samplesExpected?: string;
  @ApiPropertyOptional({ description: 'samples present' })
  samplesObserved?: string;
  @ApiPropertyOptional({ description: "samples a collector's spool thinned (CPU still counted)" })
  samplesThinned?: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '0.9990',
    description:
      'share of expected samples present (docs/product.md, "Completeness"); time-based for samples that declare no interval; null: no metered time',
  })
  ratio!: string | null;
}

export class MinimumDto {
  @ApiProperty() committed!: string;
  @ApiProperty() prorated!: string;
}

export class BankDto {
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ example: 'DE89 3704 0044 0532 0130 00' }) iban!: string;
  @ApiProperty({ type: String, nullable: true }) bic!: string | null;
}

export class SellerDto {
  @ApiProperty() legalName!: string;
  @ApiProperty({ type: [String] }) address!: string[];
  @ApiProperty() taxId!: string;
  @ApiProperty({ type: String, nullable: true }) email!: string | null;
  @ApiProperty({ type: BankDto }) bank!: BankDto;
  @ApiProperty({ description: 'the development sample (no SELLER_* configured)' })
  sample!: boolean;
}

export class BuyerDto {
  @ApiProperty({ type: String, nullable: true }) legalName!: string | null;
  @ApiProperty({ type: [String] }) address!: string[];
  @ApiProperty({ type: String, nullable: true }) taxId!: string | null;
  @ApiProperty({ type: String, nullable: true }) email!: string | null;
}

export class CreditNoteSummaryDto {
  @ApiProperty({ example: 'CN-2026-000001' }) number!: string;
  @ApiProperty() net!: string;
  @ApiProperty() tax!: string;
  @ApiProperty() gross!: string;
  @ApiProperty() reason!: string;
  @ApiProperty() issuedAt!: string;
}

export class InvoiceDto {
  @ApiProperty({ example: 'acme' }) tenantId!: string;
  @ApiProperty() tenantName!: string;
  @ApiProperty({ example: '2026-10' }) period!: string;
  @ApiProperty() timeZone!: string;
  @ApiProperty() periodStart!: string;
  @ApiProperty() periodEnd!: string;
  @ApiProperty({ enum: ['draft', 'final'] }) status!: string;
  @ApiProperty({ type: String, nullable: true, example: 'INV-2026-10-000001' }) number!:
    string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ type: [InvoiceLineDto] }) lines!: InvoiceLineDto[];
  @ApiProperty({ type: [ResourceBreakdownDto] }) resources!: ResourceBreakdownDto[];
  @ApiProperty({ example: '12.95' }) subtotal!: string;
  @ApiProperty({ type: MinimumDto }) minimum!: MinimumDto;
  @ApiProperty({ example: '12.95' }) total!: string;
  @ApiProperty({ type: CompletenessDto }) completeness!: CompletenessDto;
  @ApiProperty({ type: UsageTotalsRecordDto }) usageTotals!: UsageTotalsRecordDto;
  @ApiProperty({ type: String, nullable: true }) issuedAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'sha256 of the canonical JSON (contentHash: null, creditNotes left out)',
  })
  contentHash!: string | null;
  // Billing details (absent on invoices finalised before they existed).
  @ApiPropertyOptional({ type: SellerDto }) seller?: SellerDto;
  @ApiPropertyOptional({ type: BuyerDto }) buyer?: BuyerDto;
  @ApiPropertyOptional({ example: 'de-DE' }) locale?: string;
  @ApiPropertyOptional({ example: 30 }) paymentTermsDays?: number;
  @ApiPropertyOptional({ type: [TaxLineDto] }) taxLines?: TaxLineDto[];
  @ApiPropertyOptional({ example: '12.95', description: '= total' }) net?: string;
  @ApiPropertyOptional({ example: '2.46' }) tax?: string;
  @ApiPropertyOptional({ example: '15.41', description: 'net + tax' }) gross?: string;
  @ApiPropertyOptional({ type: [String], description: 'wording the tax requires' })
  notes?: string[];
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '2026-12-31',
    description: 'issue day in the tenant zone + payment terms; null on drafts',
  })
  dueDate?: string | null;
  @ApiPropertyOptional({
    type: [CreditNoteSummaryDto],
    description: 'credit notes issued for this final invoice (listed, not hashed)',
  })
  creditNotes?: CreditNoteSummaryDto[];
}

export class CloseResultDto {
  @ApiProperty({ example: '2026-11' }) period!: string;
  @ApiProperty() tenants!: number;
  @ApiProperty({ description: 'made final by this call' }) finalized!: number;
  @ApiProperty({ description: 'already final before (closing twice is harmless)' })
  alreadyFinal!: number;
  @ApiProperty() closableFrom!: string;
}

export const INVOICE_STATUSES = ['draft', 'final'] as const;

export class InvoiceListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: '2026-01', description: 'First period (inclusive)' })
  @IsOptional()
  @IsPeriod()
  from?: string;

  @ApiPropertyOptional({ example: '2026-12', description: 'Last period (inclusive)' })
  @IsOptional()
  @IsPeriod()
  to?: string;

  @ApiPropertyOptional({ enum: INVOICE_STATUSES })
  @IsOptional()
  @IsIn(INVOICE_STATUSES)
  status?: (typeof INVOICE_STATUSES)[number];
}

export class InvoiceSummaryDto {
  @ApiProperty({ example: '2026-10' }) period!: string;
  @ApiProperty({ enum: INVOICE_STATUSES }) status!: string;
  @ApiProperty({ type: String, nullable: true, example: 'INV-2026-10-000001' }) number!:
    string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '12.95',
    description: 'Final invoices only; a draft’s total is on GET …/invoices/{period}',
  })
  total!: string | null;
  @ApiProperty({ type: String, nullable: true }) issuedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) contentHash!: string | null;
}

export class InvoicePageDto {
  @ApiProperty({ type: [InvoiceSummaryDto], description: 'Oldest period first' })
  data!: InvoiceSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}
