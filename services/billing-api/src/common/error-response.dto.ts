import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldProblemDto {
  @ApiProperty({ example: 'cpu.tiers[1].upTo' })
  field!: string;

  @ApiProperty({ example: 'must be greater than the tier before' })
  message!: string;
}

/** Every error answer has this shape; never a stack trace. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({
    example: 'VALIDATION_FAILED',
    description:
      'Stable code: VALIDATION_FAILED, UNAUTHENTICATED, FORBIDDEN, TENANT_NOT_FOUND, TENANT_EXISTS, ' +
      'PLAN_NOT_FOUND, PLAN_CURRENCY_MISMATCH, PLAN_INVALID, API_KEY_NOT_FOUND, PERIOD_INVALID, ' +
      'PERIOD_NOT_STARTED, PERIOD_NOT_CLOSABLE, PERIOD_CLOSED, RANGE_INVALID, NOT_FOUND, ' +
      'RATE_LIMITED, PAYLOAD_TOO_LARGE, INTERNAL',
  })
  code!: string;

  @ApiProperty({ example: 'currency: must be an ISO 4217 code such as "EUR"' })
  message!: string;

  @ApiPropertyOptional({
    example: 'currency',
    description: 'The offending input, when there is one',
  })
  field?: string;

  @ApiPropertyOptional({ type: [FieldProblemDto] })
  errors?: FieldProblemDto[];
}
