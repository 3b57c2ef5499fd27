import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { TenantScoped } from '../auth/access.decorator';
import { type AuthenticatedRequest } from '../auth/principal';
import { UnauthenticatedError } from '../common/billing.errors';
import { ErrorResponseDto } from '../common/error-response.dto';
import { BudgetThresholdService, type ThresholdView } from './budget-threshold.service';

const THRESHOLD_BODY = {
  schema: {
    type: 'object',
    required: ['amount'],
    additionalProperties: false,
    properties: {
      amount: {
        type: 'string',
        pattern: '^(0|[1-9][0-9]{0,14})(\\.[0-9]+)?$',
        example: '150.00',
        description:
          'in the tenant’s currency, > 0, at most its minor-unit digits after the point, at most 15 before',
      },
    },
  },
};

/** One threshold as the API shows it (the list, the overview). */
export const THRESHOLD_VIEW = {
  type: 'object',
  required: [
    'id',
    'tenantId',
    'amount',
    'currency',
    'createdBy',
    'createdAt',
    'period',
    'reachedAt',
  ],
  properties: {
    id: { type: 'string', example: 'bt_5f0c2a9e41d7b3c86a1e0f42' },
    tenantId: { type: 'string', example: 'acme' },
    amount: { type: 'string', example: '150.00' },
    currency: { type: 'string', example: 'EUR' },
    createdBy: { type: 'string', enum: ['admin', 'tenant'] },
    createdAt: { type: 'string', format: 'date-time' },
    period: {
      type: 'string',
      example: '2026-12',
      description: 'the current month in the tenant’s zone',
    },
    reachedAt: {
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'when this month’s draft reached the threshold; null while it has not',
    },
  },
};

@ApiTags('budget thresholds')
@Controller('v1/tenants/:id/budget-thresholds')
@TenantScoped()
export class BudgetThresholdController {
  constructor(private readonly thresholds: BudgetThresholdService) {}

  @Get()
  @ApiOperation({
    operationId: 'listBudgetThresholds',
    summary: 'The tenant’s monthly budget thresholds, lowest first, with this month’s crossings',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        data: { type: 'array', items: THRESHOLD_VIEW },
        nextCursor: { type: 'string', nullable: true, description: 'always null: one page' },
      },
    },
  })
  list(@Param('id') id: string): Promise<{ data: ThresholdView[]; nextCursor: null }> {
    return this.thresholds.list(id);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createBudgetThreshold',
    summary:
      'Add a monthly threshold: budget.threshold_reached once per month when the draft total reaches it',
  })
  @ApiBody(THRESHOLD_BODY)
  @ApiCreatedResponse({ schema: THRESHOLD_VIEW })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'VALIDATION_FAILED' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'BUDGET_THRESHOLD_EXISTS (same amount), BUDGET_THRESHOLD_LIMIT (20 per tenant)',
  })
  create(
    @Req() req: AuthenticatedRequest,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<ThresholdView> {
    if (req.principal === undefined) throw new UnauthenticatedError();
    return this.thresholds.create(req.principal, id, body);
  }

  @Delete(':thresholdId')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteBudgetThreshold', summary: 'Remove a threshold' })
  @ApiNoContentResponse({ description: 'removed' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'TENANT_NOT_FOUND, BUDGET_THRESHOLD_NOT_FOUND (also another tenant’s threshold)',
  })
  async delete(@Param('id') id: string, @Param('thresholdId') thresholdId: string): Promise<void> {
    await this.thresholds.delete(id, thresholdId);
  }
}
