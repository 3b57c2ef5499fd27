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
  @ApiProperty({
    type: String,
    nullable: true,
    example: '0.9990',
    description:
      'Share of expected samples present (docs/product.md, "Completeness"): the resource\'s with by=resource, else its resources\' counts pooled, as on invoices; null: no metered time',
  })
  completeness!: string | null;
  @ApiProperty({ example: '360', description: 'samples the collectors should have produced' })
  samplesExpected!: string;
  @ApiProperty({ example: '359', description: 'samples present' })
  samplesObserved!: string;
  @ApiProperty({ example: '0', description: "samples a collector's spool thinned" })
  samplesThinned!: string;
  @ApiProperty({ example: '0', description: 'ms of silences longer than the gap limit' })
  gapMs!: string;
  @ApiProperty({
    example: '0',
    description: 'ms unseen after resources ended while their collector was down (inferred)',
  })
  inferredGapMs!: string;
}

export class UsageItemDto extends UsageTotalsDto {
  @ApiProperty({ example: '2026-11-01T00:00:00.000Z' }) start!: string;
  @ApiPropertyOptional() resourceId?: string;
  @ApiPropertyOptional({ enum: ['container', 'vm'] }) resourceKind?: string;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'web-1',
    description: 'With by=resource: the name the collector reported last; null when unknown',
  })
  resourceName?: string | null;
}

/** A resource of the answer as the collectors describe it (by=resource). */
export class UsageResourceDto {
  @ApiProperty({ example: '3f9a…' }) id!: string;
  @ApiProperty({ enum: ['container', 'vm'] }) kind!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'web-1',
    description:
      'Container or domain name as last observed; null when rated before names were recorded',
  })
  name!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'local/busybox:1' }) image!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'm1.small' }) flavour!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'node-1' }) host!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-01T08:00:00.000Z' })
  firstSeen!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-30T23:59:50.000Z' })
  lastSeen!: string | null;
}

export class UsageResponseDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ['hour', 'day'] }) granularity!: string;
  @ApiProperty({ enum: BASES }) basis!: string;
  @ApiProperty() timeZone!: string;
  @ApiProperty({ type: [UsageItemDto] }) items!: UsageItemDto[];
  @ApiProperty({ type: UsageTotalsDto }) totals!: UsageTotalsDto;
  @ApiPropertyOptional({
    type: [UsageResourceDto],
    description: 'With by=resource: each resource of the items, by id',
  })
  resources?: UsageResourceDto[];
}
