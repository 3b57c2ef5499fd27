import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { INVOICE_EVENT_TYPES } from '@metering/contracts';
import { PageQueryDto } from '../common/page.dto';
import { ID_PATTERN } from '../common/validators';
import { DELIVERY_STATUSES, ENDPOINT_STATUSES } from './domain/delivery-log';

// The webhook lists' query strings and answers, for the OpenAPI document and the edge check;
// WebhookEndpointService checks the same rules again for its other caller, the operator CLI.

export class WebhookEndpointListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: 'acme',
    description: 'Admin key: only this tenant’s endpoints (a tenant key always sees its own)',
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'must be a tenant id' })
  tenantId?: string;

  @ApiPropertyOptional({ enum: ENDPOINT_STATUSES })
  @IsOptional()
  @IsIn(ENDPOINT_STATUSES, { message: `must be one of ${ENDPOINT_STATUSES.join(', ')}` })
  status?: (typeof ENDPOINT_STATUSES)[number];
}

export class WebhookDeliveryListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: (typeof DELIVERY_STATUSES)[number];

  @ApiPropertyOptional({ enum: INVOICE_EVENT_TYPES })
  @IsOptional()
  @IsIn(INVOICE_EVENT_TYPES, { message: `must be one of ${INVOICE_EVENT_TYPES.join(', ')}` })
  eventType?: string;
}

export class WebhookEndpointDto {
  @ApiProperty({ example: 'we_0123456789abcdef01234567' }) id!: string;
  @ApiProperty({ type: String, nullable: true, description: 'null: the provider’s own' })
  tenantId!: string | null;
  @ApiProperty({ example: 'https://erp.example.com/hooks/metering' }) url!: string;
  @ApiProperty({ type: [String], example: ['invoice.finalized'] }) eventTypes!: string[];
  @ApiProperty() description!: string;
  @ApiProperty({ enum: ENDPOINT_STATUSES }) status!: string;
  @ApiProperty({ type: String, nullable: true }) disabledReason!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'While a rotated-out secret still signs (both signatures are sent until then)',
  })
  previousSecretExpiresAt!: string | null;
  @ApiProperty() createdAt!: string;
}

export class WebhookDeliveryDto {
  @ApiProperty({ example: '42' }) id!: string;
  @ApiProperty() endpointId!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: INVOICE_EVENT_TYPES }) eventType!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: String, nullable: true }) nextAttemptAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastAttemptAt!: string | null;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode!: number | null;
  @ApiProperty({ type: Number, nullable: true }) lastLatencyMs!: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'The last response’s first 1 KiB' })
  lastResponse!: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ type: String, nullable: true }) deliveredAt!: string | null;
  @ApiProperty() createdAt!: string;
}

export class WebhookEndpointPageDto {
  @ApiProperty({ type: [WebhookEndpointDto], description: 'In creation order' })
  data!: WebhookEndpointDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto], description: 'Newest first' })
  data!: WebhookDeliveryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'null on the last page' })
  nextCursor!: string | null;
}
