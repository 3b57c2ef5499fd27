import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import {
  UNBILLED_PAGE_DEFAULT,
  UnbilledUsagePageDto,
  UnbilledUsageQueryDto,
} from './unbilled-usage.dto';
import { UnbilledUsageService } from './unbilled-usage.service';

@ApiTags('unbilled usage')
@Controller('v1/unbilled-usage')
export class UnbilledUsageController {
  constructor(private readonly unbilled: UnbilledUsageService) {}

  @Get()
  @AdminOnly()
  @ApiOperation({
    operationId: 'listUnbilledUsage',
    summary: 'Usage rated for tenant ids that are not registered (no invoice carries it)',
    description:
      'Per tenant id: CPU core-seconds and memory GiB-seconds (decimal strings), resources, ' +
      'first and last hour bucket. Registering the tenant (POST /v1/tenants) bills it: its ' +
      'draft invoices then include this usage, and it leaves this list.',
  })
  @ApiOkResponse({ type: UnbilledUsagePageDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'period not YYYY-MM (1970-01 to 2199-12), limit out of range, foreign cursor',
  })
  list(@Query() query: UnbilledUsageQueryDto): Promise<UnbilledUsagePageDto> {
    const limit = query.limit === undefined ? UNBILLED_PAGE_DEFAULT : Number(query.limit);
    return this.unbilled.page(query.period, limit, query.cursor);
  }
}
