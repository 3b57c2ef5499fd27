import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AdminOnly } from '../auth/access.decorator';
import { NotFoundError } from '../common/billing.errors';
import { ErrorResponseDto } from '../common/error-response.dto';
import { type Page, PageQueryDto } from '../common/page.dto';
import { PageCursors } from '../common/page-cursor';
import {
  CreatePricePlanDto,
  PricePlanDto,
  PricePlanListQueryDto,
  PricePlanPageDto,
  PricePlanVersionPageDto,
} from './price-plan.dto';
import { PricePlanRepository } from './price-plan.repository';
import { PricePlanService, toDto } from './price-plan.service';

@ApiTags('price plans')
@AdminOnly()
@Controller('v1/price-plans')
export class PricePlanController {
  constructor(
    private readonly plans: PricePlanService,
    private readonly repository: PricePlanRepository,
    private readonly cursors: PageCursors,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listPricePlans',
    summary: 'Price plans (their latest version) in id order, optionally of one currency',
  })
  @ApiOkResponse({ type: PricePlanPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor, currency' })
  async list(@Query() query: PricePlanListQueryDto): Promise<Page<PricePlanDto>> {
    return this.cursors.page(
      ['price-plans', query.currency],
      query,
      (after, rows) => this.repository.latestPage(query.currency, after, rows),
      (row) => row.id,
      toDto,
    );
  }

  @Get(':planId/versions')
  @ApiOperation({ operationId: 'listPricePlanVersions', summary: 'Versions of a plan, paged' })
  @ApiOkResponse({ type: PricePlanVersionPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'PLAN_NOT_FOUND' })
  async listVersions(
    @Param('planId') planId: string,
    @Query() query: PageQueryDto,
  ): Promise<Page<PricePlanDto>> {
    const page = await this.cursors.page(
      ['price-plan-versions', planId],
      query,
      (after, rows) =>
        this.repository.versionPage(planId, after === null ? 0 : Number(after), rows),
      (row) => String(row.version),
      toDto,
    );
    if (page.data.length === 0 && query.cursor === undefined) {
      throw new NotFoundError('PLAN_NOT_FOUND', `price plan ${planId} does not exist`);
    }
    return page;
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createPricePlan',
    summary: 'Create a price plan, or the next version of an existing one (immutable)',
  })
  @ApiCreatedResponse({ type: PricePlanDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'wrong types, missing fields' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'negative prices, tiers not increasing, bounded last tier, negative minimum',
  })
  create(@Body() body: CreatePricePlanDto): Promise<PricePlanDto> {
    return this.plans.create(body);
  }

  @Get(':planId')
  @ApiOperation({
    operationId: 'getPricePlanVersions',
    summary: 'Every version of a price plan, oldest first',
  })
  @ApiOkResponse({ type: [PricePlanDto] })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  versions(@Param('planId') planId: string): Promise<PricePlanDto[]> {
    return this.plans.latest(planId);
  }
}
