import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../common/page.dto';
import {
  ID_PATTERN,
  IsCurrencyCode,
  IsDecimalString,
  IsDecimalStringOrNull,
} from '../common/validators';

export class TierDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: '100',
    description: 'Upper bound of the month’s cumulative unit-hours; null for the last tier',
  })
  @IsDecimalStringOrNull()
  upTo!: string | null;

  @ApiProperty({ example: '0.040', description: 'Price per unit-hour (vCPU-hour or GiB-hour)' })
  @IsDecimalString()
  unitPrice!: string;
}

export class MeterPriceDto {
  @ApiProperty({ type: [TierDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  // ValidateNested alone would take a nested array ([[]]) for a tier with nothing to check.
  @IsObject({ each: true, message: 'each tier must be an object {"upTo", "unitPrice"}' })
  @ValidateNested({ each: true })
  @Type(() => TierDto)
  tiers!: TierDto[];
}

export const BASES = ['usage', 'allocation', 'max'] as const;

export class CreatePricePlanDto {
  @ApiProperty({ example: 'std', description: 'Posting an existing id creates its next version' })
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be 1-128 letters, digits, ".", "_" or "-"' })
  id!: string;

  @ApiProperty({ example: 'EUR' })
  @IsCurrencyCode()
  currency!: string;

  @ApiProperty({ enum: BASES, example: 'usage' })
  @IsIn(BASES)
  basis!: (typeof BASES)[number];

  @ApiPropertyOptional({ type: MeterPriceDto, description: 'Per vCPU-hour; omitted: CPU is free' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MeterPriceDto)
  cpu?: MeterPriceDto | null;

  @ApiPropertyOptional({
    type: MeterPriceDto,
    description: 'Per GiB-hour; omitted: memory is free',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MeterPriceDto)
  memory?: MeterPriceDto | null;

  @ApiPropertyOptional({ example: '0.00', default: '0', description: 'Monthly minimum commitment' })
  @IsOptional()
  @IsDecimalString()
  minimum?: string;
}

export class TierRecordDto {
  @ApiProperty({ type: String, nullable: true }) upTo!: string | null;
  @ApiProperty() unitPrice!: string;
}

export class MeterPriceRecordDto {
  @ApiProperty({ type: [TierRecordDto] }) tiers!: TierRecordDto[];
}

export class PricePlanDto {
  @ApiProperty() id!: string;
  @ApiProperty() version!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ enum: BASES }) basis!: string;
  @ApiProperty({ type: MeterPriceRecordDto, nullable: true }) cpu!: MeterPriceRecordDto | null;
  @ApiProperty({ type: MeterPriceRecordDto, nullable: true }) memory!: MeterPriceRecordDto | null;
  @ApiProperty() minimum!: string;
  @ApiProperty() createdAt!: string;
}

export class PricePlanListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: 'EUR',
    description: 'Only plans whose latest version is so priced',
  })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

export class PricePlanPageDto {
  @ApiProperty({ type: [PricePlanDto], description: 'The latest version of each plan, by id' })
  data!: PricePlanDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}

export class PricePlanVersionPageDto {
  @ApiProperty({ type: [PricePlanDto], description: 'Versions, oldest first' })
  data!: PricePlanDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}
