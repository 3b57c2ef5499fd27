import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { PageQueryDto } from '../common/page.dto';
import { ID_PATTERN, IsCurrencyCode, IsIanaZone, IsInstant } from '../common/validators';

export class CreateTenantDto {
  @ApiProperty({ example: 'acme', pattern: ID_PATTERN.source })
  @IsString()
  @Matches(ID_PATTERN, {
    message: 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  id!: string;

  @ApiProperty({ example: 'Acme' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({
    example: 'Europe/Paris',
    default: 'UTC',
    description: 'IANA zone of the billing month',
  })
  @IsOptional()
  @IsIanaZone()
  timeZone?: string;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217' })
  @IsCurrencyCode()
  currency!: string;
}

export class AssignPlanDto {
  @ApiProperty({ example: 'std' })
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be a plan id' })
  planId!: string;

  @ApiPropertyOptional({ example: 2, description: 'Default: the latest version' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  planVersion?: number;

  @ApiProperty({
    example: '2026-10-01T00:00:00Z',
    description: 'Truncated to the start of the tenant-zone hour that holds it',
  })
  @IsInstant()
  effectiveFrom!: string;
}

export class PlanAssignmentDto {
  @ApiProperty() planId!: string;
  @ApiProperty() planVersion!: number;
  @ApiProperty({ description: 'When it takes effect (start of a tenant-zone hour)' })
  effectiveFrom!: string;
}

export class AssignedPlanDto extends PlanAssignmentDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ description: 'As given, before truncation to the hour' })
  requestedEffectiveFrom!: string;
}

/** The billing details of PATCH /v1/tenants/:id (a JSON merge patch: null clears, absent keeps). */
export class TenantBillingDto {
  @ApiPropertyOptional({ type: String, nullable: true, example: 'Ωμέγα 株式会社', maxLength: 200 })
  legalName?: string | null;
  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    example: ['Hauptstraße 1', '10115 Berlin', 'Germany'],
    description: '1 to 6 lines of at most 200 characters',
  })
  address?: string[] | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'DE123456789' })
  taxId?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'billing@example.com' })
  email?: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '19',
    description: 'Percent, exact decimal string "0"…"100" (≤ 4 decimals); null: no tax line',
  })
  taxRate?: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'reverse-charge',
    description:
      'Why the rate is "0": `reverse-charge` prints the EU reverse-charge wording (needs taxId); other text prints as "Tax exemption: …"',
  })
  taxExemptionReason?: string | null;
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    example: 30,
    minimum: 0,
    maximum: 365,
    default: 30,
  })
  paymentTermsDays?: number | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'de-DE', default: 'en' })
  locale?: string | null;
}

export class TenantBillingViewDto {
  @ApiProperty({ type: String, nullable: true }) legalName!: string | null;
  @ApiProperty({ type: [String], nullable: true }) address!: readonly string[] | null;
  @ApiProperty({ type: String, nullable: true }) taxId!: string | null;
  @ApiProperty({ type: String, nullable: true }) email!: string | null;
  @ApiProperty({ type: String, nullable: true }) taxRate!: string | null;
  @ApiProperty({ type: String, nullable: true }) taxExemptionReason!: string | null;
  @ApiProperty() paymentTermsDays!: number;
  @ApiProperty() locale!: string;
}

export class TenantDto {
  @ApiProperty({ example: 'acme' }) id!: string;
  @ApiProperty({ example: 'Acme' }) name!: string;
  @ApiProperty({ example: 'UTC' }) timeZone!: string;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ type: [PlanAssignmentDto] }) plans!: PlanAssignmentDto[];
  @ApiProperty({ type: TenantBillingViewDto }) billing!: TenantBillingViewDto;
}

export class ApiKeyCreatedDto {
  @ApiProperty({ example: '3f2a9c0d41b7e655' }) id!: string;
  @ApiProperty({
    description: 'Shown once; only its hash is stored',
    example: 'mk_3f2a9c0d41b7e655_…',
  })
  key!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() createdAt!: string;
}

export class TenantListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: 'Ac',
    description: 'Only tenants whose name starts so (case kept)',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  namePrefix?: string;
}

/** A tenant as listed: its own fields (its plans are on GET /v1/tenants/{id}). */
export class TenantSummaryDto {
  @ApiProperty({ example: 'acme' }) id!: string;
  @ApiProperty({ example: 'Acme' }) name!: string;
  @ApiProperty({ example: 'UTC' }) timeZone!: string;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty() createdAt!: string;
}

export class TenantPageDto {
  @ApiProperty({ type: [TenantSummaryDto], description: 'In tenant-id order' })
  data!: TenantSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}
