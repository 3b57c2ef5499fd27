import { THRESHOLD_VIEW } from '../budget/budget-threshold.controller';
import { type ThresholdView } from '../budget/budget-threshold.service';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsInstant } from '../common/validators';
import { type InvoiceLine } from '../invoices/domain';
import { CompletenessDto, InvoiceLineDto, MinimumDto } from '../invoices/invoice.dto';

export class TenantOverviewQueryDto {
  @ApiPropertyOptional({
    example: '2026-12-03T18:00:00Z',
    description: 'The instant the figures run up to (ISO 8601 with a zone); default now, not later',
  })
  @IsOptional()
  @IsInstant()
  at?: string;
}

export class OverviewPeriodDto {
  @ApiProperty({ example: '2026-12', description: 'The month holding `at` in the tenant’s zone' })
  period!: string;
  @ApiProperty({ example: '2026-11-30T23:00:00.000Z' }) start!: string;
  @ApiProperty({ example: '2026-12-31T23:00:00.000Z' }) end!: string;
  @ApiProperty({ example: '0.086021', description: 'elapsed share of the month at `at`, 0…1' })
  elapsedShare!: string;
}

export class ToDateFiguresDto {
  @ApiProperty({ example: '2026-12' }) period!: string;
  @ApiProperty({ description: 'start of the month' }) from!: string;
  @ApiProperty({ description: 'figures count the hour buckets that start before this instant' })
  to!: string;
  @ApiProperty({
    example: '12.34',
    description:
      'usage charges from the month’s start to `to`, exact (the usage lines of its invoice, priced as the invoice prices them; before minimum commitment, adjustments and tax)',
  })
  amount!: string;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ example: '150.25', description: 'CPU core-hours (usage), 6 decimals' })
  cpuCoreHours!: string;
  @ApiProperty({ example: '512.5', description: 'memory GiB-hours (usage), 6 decimals' })
  memoryGibHours!: string;
}

export class OverviewInvoiceDto {
  @ApiProperty({ example: '2026-12' }) period!: string;
  @ApiProperty({ enum: ['draft', 'final'] }) status!: string;
  @ApiProperty({ type: String, nullable: true }) number!: string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ type: [InvoiceLineDto] }) lines!: readonly InvoiceLine[];
  @ApiProperty({ example: '12.95' }) subtotal!: string;
  @ApiProperty({ type: MinimumDto }) minimum!: MinimumDto;
  @ApiProperty({ example: '12.95', description: 'net (before tax)' }) total!: string;
  @ApiProperty({ type: String, nullable: true, example: '2.46' }) tax!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '15.41' }) gross!: string | null;
}

export class ForecastDto {
  @ApiProperty({ enum: [true], description: 'always true: these figures are a forecast' })
  isForecast!: true;
  @ApiProperty({ enum: ['linear-run-rate'] }) method!: string;
  @ApiProperty({
    description: 'how the figures were made, in words the portal can show',
    example:
      'Month-to-date figures divided by the elapsed share of the month (linear run-rate); a forecast, not a charge',
  })
  description!: string;
  @ApiProperty({ example: '0.086021' }) elapsedShare!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'usage charges at month end at the rate so far; null in the first hour',
  })
  usageAmount!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'usageAmount raised to the minimum commitment (before adjustments and tax)',
  })
  amount!: string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ type: String, nullable: true }) cpuCoreHours!: string | null;
  @ApiProperty({ type: String, nullable: true }) memoryGibHours!: string | null;
}

export class TenantOverviewDto {
  @ApiProperty({ example: 'acme' }) tenantId!: string;
  @ApiProperty({ example: 'Europe/Paris', description: 'every period and day is of this zone' })
  timeZone!: string;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ description: 'the instant the figures run up to' }) at!: string;
  @ApiProperty({ type: OverviewPeriodDto }) period!: OverviewPeriodDto;
  @ApiProperty({ type: ToDateFiguresDto }) monthToDate!: ToDateFiguresDto;
  @ApiProperty({
    type: ToDateFiguresDto,
    description:
      'last month from its start to the same local day and time (its end when it has no such day)',
  })
  lastMonthToDate!: ToDateFiguresDto;
  @ApiProperty({
    type: OverviewInvoiceDto,
    description: 'the month’s invoice as GET …/invoices/{period} answers it (a live draft)',
  })
  invoice!: OverviewInvoiceDto;
  @ApiProperty({ type: ForecastDto }) forecast!: ForecastDto;
  @ApiProperty({ type: CompletenessDto, description: 'the invoice’s completeness' })
  completeness!: CompletenessDto;
  @ApiProperty({
    type: 'array',
    items: THRESHOLD_VIEW,
    description:
      'the tenant’s monthly budget thresholds as GET …/budget-thresholds lists them, with whether this month reached each',
  })
  budgetThresholds!: ThresholdView[];
}
