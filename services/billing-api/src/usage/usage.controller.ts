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
import { UsageQueryDto, UsageResponseDto } from './usage.dto';
import { UsageService } from './usage.service';

@ApiTags('usage')
@Controller('v1/tenants/:id/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @TenantScoped()
  @ApiOperation({
    operationId: 'getTenantUsage',
    summary: 'Usage per hour bucket or per local day (the tenant’s zone), optionally per resource',
    description:
      'Exact decimal strings: CPU in core-seconds, memory in GiB-seconds (GiB = 2^30 bytes).',
  })
  @ApiOkResponse({ type: UsageResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'RANGE_INVALID' })
  get(@Param('id') id: string, @Query() query: UsageQueryDto): Promise<UsageResponseDto> {
    return this.usage.report(id, query);
  }
}
