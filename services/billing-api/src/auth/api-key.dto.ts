import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { PageQueryDto } from '../common/page.dto';
import { ID_PATTERN } from '../common/validators';

export const KEY_STATUSES = ['active', 'revoked'] as const;

export class ApiKeyListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: 'acme',
    description: 'Only this tenant’s keys (a tenant key always sees only its own)',
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be a tenant id' })
  tenantId?: string;

  @ApiPropertyOptional({ enum: KEY_STATUSES })
  @IsOptional()
  @IsIn(KEY_STATUSES)
  status?: (typeof KEY_STATUSES)[number];
}

export class ApiKeyDto {
  @ApiProperty({ example: '3f2a9c0d41b7e655' }) id!: string;
  @ApiProperty({ example: 'acme' }) tenantId!: string;
  @ApiProperty({ enum: KEY_STATUSES }) status!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ type: String, nullable: true }) revokedAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Last request the key authenticated, to the minute; null: never used',
  })
  lastUsedAt!: string | null;
}

export class ApiKeyPageDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'In key-id order' }) data!: ApiKeyDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}
