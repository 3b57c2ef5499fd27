import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';
import { type Page } from '../common/page.dto';
import { PageCursors } from '../common/page-cursor';
import { AnyPrincipal, CurrentPrincipal } from './access.decorator';
import { type ApiKeyDto, ApiKeyListQueryDto, ApiKeyPageDto } from './api-key.dto';
import { ApiKeyRepository } from './api-key.repository';
import { type Principal } from './principal';

@ApiTags('api keys')
@Controller('v1/api-keys')
export class ApiKeyController {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly cursors: PageCursors,
  ) {}

  @Get()
  @AnyPrincipal()
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: 'API keys (never their secrets) with their last use; a tenant key sees its own',
  })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor, filters' })
  async list(
    @Query() query: ApiKeyListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Page<ApiKeyDto>> {
    if (principal.kind === 'tenant' && query.tenantId !== undefined) {
      // Another tenant's keys are not there for this key: an empty list, as for an unknown id.
      if (query.tenantId !== principal.tenantId) return { data: [], nextCursor: null };
    }
    const tenantId = principal.kind === 'tenant' ? principal.tenantId : query.tenantId;
    return this.cursors.page(
      ['api-keys', tenantId, query.status],
      query,
      (after, rows) => this.keys.page({ tenantId, status: query.status }, after, rows),
      (row) => row.id,
      (r) => ({
        id: r.id,
        tenantId: r.tenantId,
        status: r.revokedAt === null ? 'active' : 'revoked',
        createdAt: r.createdAt.toISOString(),
        revokedAt: r.revokedAt?.toISOString() ?? null,
        lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
      }),
    );
  }
}
