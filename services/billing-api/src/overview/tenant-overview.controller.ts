import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { TenantScoped } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { TenantOverviewDto, TenantOverviewQueryDto } from './tenant-overview.dto';
import { TenantOverviewService } from './tenant-overview.service';

@ApiTags('tenants')
@Controller('v1/tenants')
export class TenantOverviewController {
  constructor(private readonly overviews: TenantOverviewService) {}

  @Get(':id/overview')
  @TenantScoped()
  @ApiOperation({
    operationId: 'getTenantOverview',
    summary:
      'The month so far against last month at the same point, its invoice lines, a forecast to month end',
  })
  @ApiOkResponse({ type: TenantOverviewDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'at' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'at in the future' })
  get(@Param('id') id: string, @Query() query: TenantOverviewQueryDto): Promise<TenantOverviewDto> {
    return this.overviews.overview(id, query.at);
  }
}
