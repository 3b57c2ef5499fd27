import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
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
import { ErrorResponseDto } from '../common/error-response.dto';
import { CreatePricePlanDto, PricePlanDto } from './price-plan.dto';
import { PricePlanService } from './price-plan.service';

@ApiTags('price plans')
@AdminOnly()
@Controller('v1/price-plans')
export class PricePlanController {
  constructor(private readonly plans: PricePlanService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
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
  @ApiOperation({ summary: 'Every version of a price plan, oldest first' })
  @ApiOkResponse({ type: [PricePlanDto] })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  versions(@Param('planId') planId: string): Promise<PricePlanDto[]> {
    return this.plans.latest(planId);
  }
}
