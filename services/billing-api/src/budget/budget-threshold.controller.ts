import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNoContentResponse,
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
  async delete(@Param('id') id: string, @Param('thresholdId') thresholdId: string): Promise<void> {
    await this.thresholds.delete(id, thresholdId);
  }
}
