import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldProblemDto {
  @ApiProperty({ example: 'cpu.tiers[1].upTo' })
  field!: string;

  @ApiProperty({ example: 'must be greater than the tier before' })
  message!: string;
}

/**
 * Every error answer: an RFC 9457 problem (`application/problem+json`) with our stable `code`
 * and the offending `field` (and every `errors[]` when there are several) as extension members.
 * Never a stack trace.
 */
export class ErrorResponseDto {
  @ApiProperty({
    example: 'tag:metering.billing-api,2026:problem:validation-failed',
    description: 'RFC 9457 problem type: one stable URI per `code`',
  })
  type!: string;

  @ApiProperty({ example: 'The request is invalid', description: 'The same for every occurrence' })
  title!: string;

  @ApiProperty({ example: 400, description: 'The HTTP status' })
  status!: number;

  @ApiProperty({ example: 'currency: must be an ISO 4217 code such as "EUR"' })
  detail!: string;

  @ApiProperty({ example: '/v1/tenants', description: 'The path of the request that failed' })
  instance!: string;

  @ApiProperty({
    example: 'VALIDATION_FAILED',
    description:
      'Stable code: VALIDATION_FAILED, UNAUTHENTICATED, FORBIDDEN, TENANT_NOT_FOUND, TENANT_EXISTS, ' +
      'PLAN_NOT_FOUND, PLAN_CURRENCY_MISMATCH, PLAN_INVALID, API_KEY_NOT_FOUND, PERIOD_INVALID, ' +
      'PERIOD_NOT_STARTED, PERIOD_NOT_CLOSABLE, PERIOD_CLOSED, RANGE_INVALID, NOT_FOUND, ' +
      'RATE_LIMITED, PAYLOAD_TOO_LARGE, NOT_ACCEPTABLE, IDEMPOTENCY_KEY_REUSED, ' +
      'IDEMPOTENCY_KEY_IN_USE, INTERNAL',
  })
  code!: string;

  @ApiPropertyOptional({
    example: 'currency',
    description: 'The offending input, when there is one (a body path, parameter or header name)',
  })
  field?: string;

  @ApiPropertyOptional({ type: [FieldProblemDto] })
  errors?: FieldProblemDto[];
}
