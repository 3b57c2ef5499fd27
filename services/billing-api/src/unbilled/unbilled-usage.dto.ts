import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsPageLimit } from '../common/page.dto';
import { IsPeriod } from '../common/validators';

export const UNBILLED_PAGE_DEFAULT = 100;
export const UNBILLED_PAGE_MAX = 1000;

export class UnbilledUsageQueryDto {
  @ApiProperty({
    example: '2026-11',
    description: 'A month of UNBILLED_TIME_ZONE (rating’s DEFAULT_TIME_ZONE; UTC by default)',
  })
  @IsPeriod()
  period!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: UNBILLED_PAGE_MAX,
    default: UNBILLED_PAGE_DEFAULT,
    description: 'Most items in this page',
  })
  @IsOptional()
  @IsPageLimit(UNBILLED_PAGE_MAX)
  limit?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (opaque)' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  cursor?: string;
}

export class UnbilledUsageDto {
  @ApiProperty({
    example: 'Acme',
    description: 'Exactly as rating received it (case and any character kept)',
  })
  tenantId!: string;

  @ApiProperty({
    description:
      'Whether POST /v1/tenants accepts this id as it is; false: fix the label at its source',
  })
  registrable!: boolean;

  @ApiProperty({ example: '7200', description: 'CPU core-seconds (usage basis), exact decimal' })
  cpuCoreSeconds!: string;

  @ApiProperty({ example: '3600', description: 'Memory GiB-seconds (usage basis), exact decimal' })
  memoryGibSeconds!: string;

  @ApiProperty({ example: 3, description: 'Distinct resources with usage in the period' })
  resources!: number;

  @ApiProperty({
    example: '2026-11-03T10:00:00.000Z',
    description: 'Start of its first hour bucket',
  })
  firstBucketStart!: string;

  @ApiProperty({
    example: '2026-11-28T17:00:00.000Z',
    description: 'Start of its last hour bucket',
  })
  lastBucketStart!: string;
}

export class UnbilledUsagePageDto {
  @ApiProperty({ example: '2026-11' }) period!: string;
  @ApiProperty({ example: 'UTC' }) timeZone!: string;
  @ApiProperty() periodStart!: string;
  @ApiProperty() periodEnd!: string;

  @ApiProperty({ type: [UnbilledUsageDto], description: 'In tenant-id order' })
  data!: UnbilledUsageDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Pass as `cursor` for the next page; null at the end. A page may hold fewer items than ' +
      '`limit` (each page scans a bounded number of tenant ids) and still have a next one.',
  })
  nextCursor!: string | null;
}
