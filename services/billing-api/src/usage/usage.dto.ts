import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsInstant } from '../common/validators';
import { BASES } from '../price-plans/price-plan.dto';

export class UsageQueryDto {
  @ApiProperty({
    example: '2026-11-01T00:00:00Z',
    description: 'Inclusive; buckets starting at or after',
  })
  @IsInstant()
  from!: string;

  @ApiProperty({ example: '2026-12-01T00:00:00Z', description: 'Exclusive' })
  @IsInstant()
  to!: string;

  @ApiPropertyOptional({
    enum: ['hour', 'day'],
    default: 'hour',
    description: 'day = the tenant’s local days',
  })
  @IsOptional()
  @IsIn(['hour', 'day'])
  granularity?: 'hour' | 'day';

  @ApiPropertyOptional({ enum: ['resource'], description: 'Break every item down by resource' })
  @IsOptional()
  @IsIn(['resource'])
  by?: 'resource';

  @ApiPropertyOptional({ enum: BASES, default: 'usage', description: 'Which ledger column' })
  @IsOptional()
  @IsIn(BASES)
  basis?: (typeof BASES)[number];
}

export class UsageTotalsDto {
  @ApiProperty({ example: '7200' }) cpuCoreSeconds!: string;
  @ApiProperty({ example: '3600' }) memoryGibSeconds!: string;
}

export class UsageItemDto extends UsageTotalsDto {
  @ApiProperty({ example: '2026-11-01T00:00:00.000Z' }) start!: string;
  @ApiPropertyOptional() resourceId?: string;
  @ApiPropertyOptional({ enum: ['container', 'vm'] }) resourceKind?: string;
}

export class UsageResponseDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ['hour', 'day'] }) granularity!: string;
  @ApiProperty({ enum: BASES }) basis!: string;
  @ApiProperty() timeZone!: string;
  @ApiProperty({ type: [UsageItemDto] }) items!: UsageItemDto[];
  @ApiProperty({ type: UsageTotalsDto }) totals!: UsageTotalsDto;
}
