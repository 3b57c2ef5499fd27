import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
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
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  AdminOnly,
  AnyPrincipal,
  CurrentPrincipal,
  SessionWrite,
  TenantScoped,
} from '../auth/access.decorator';
import { ApiKeyService } from '../auth/api-key.service';
import { type Principal } from '../auth/principal';
import { ErrorResponseDto } from '../common/error-response.dto';
import { type Page } from '../common/page.dto';
import { PageCursors } from '../common/page-cursor';
import {
  ApiKeyCreatedDto,
  AssignedPlanDto,
  AssignPlanDto,
  CreateTenantDto,
  TenantBillingDto,
  TenantDto,
  TenantListQueryDto,
  TenantPageDto,
  type TenantSummaryDto,
} from './tenant.dto';
import { TenantRepository } from './tenant.repository';
import { TenantService } from './tenant.service';

@ApiTags('tenants')
@Controller('v1/tenants')
export class TenantController {
  constructor(
    private readonly tenants: TenantService,
    private readonly keys: ApiKeyService,
    private readonly repository: TenantRepository,
    private readonly cursors: PageCursors,
  ) {}

  @Get()
  @AnyPrincipal()
  @ApiOperation({
    operationId: 'listTenants',
    summary: 'Tenants in id order, optionally by name prefix; a tenant key sees only itself',
  })
  @ApiOkResponse({ type: TenantPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor, namePrefix' })
  async list(
    @Query() query: TenantListQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Page<TenantSummaryDto>> {
    const only = principal.kind === 'tenant' ? principal.tenantId : undefined;
    return this.cursors.page(
      ['tenants', only, query.namePrefix],
      query,
      (after, rows) =>
        this.repository.page({ id: only, namePrefix: query.namePrefix }, after, rows),
      (row) => row.id,
      (r) => ({
        id: r.id,
        name: r.name,
        timeZone: r.timeZone,
        currency: r.currency,
        createdAt: r.createdAt.toISOString(),
      }),
    );
  }

  @Post()
  @AdminOnly()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createTenant',
    summary: 'Register a tenant (billing zone and currency are fixed from then on)',
  })
  @ApiCreatedResponse({ type: TenantDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'wrong types, unknown zone or currency',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'TENANT_EXISTS' })
  create(@Body() body: CreateTenantDto): Promise<TenantDto> {
    return this.tenants.create(body);
  }

  @Get(':id')
  @TenantScoped()
  @ApiOperation({ operationId: 'getTenant', summary: 'A tenant and its plan assignments' })
  @ApiOkResponse({ type: TenantDto })
  get(@Param('id') id: string): Promise<TenantDto> {
    return this.tenants.get(id);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiOperation({
    operationId: 'updateTenantBilling',
    summary: 'Set the billing details (legal name, address, tax id, e-mail, tax, terms, locale)',
    description:
      'JSON merge patch (RFC 7396; application/merge-patch+json or application/json): null clears a field, an absent one is kept. Final invoices keep the details they were issued with.',
  })
  @ApiBody({ type: TenantBillingDto })
  @ApiOkResponse({ type: TenantDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'VALIDATION_FAILED naming each field',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'TENANT_NOT_FOUND' })
  patch(@Param('id') id: string, @Body() body: unknown): Promise<TenantDto> {
    return this.tenants.patchBilling(id, body);
  }

  @Post(':id/api-keys')
  @TenantScoped()
  @SessionWrite()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'issueApiKey',
    summary: 'Issue a tenant API key; the key is in this answer only (admin, or the tenant itself)',
  })
  @ApiCreatedResponse({ type: ApiKeyCreatedDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'TENANT_NOT_FOUND' })
  issueKey(@Param('id') id: string): Promise<ApiKeyCreatedDto> {
    return this.keys.issue(id);
  }

  @Delete(':id/api-keys/:keyId')
  @TenantScoped()
  @SessionWrite()
  @HttpCode(204)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary:
      'Revoke a tenant API key (effective immediately; ends the portal sessions opened with it); admin, or the tenant itself',
  })
  @ApiNoContentResponse({ description: 'revoked' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'API_KEY_NOT_FOUND' })
  async revokeKey(@Param('id') id: string, @Param('keyId') keyId: string): Promise<void> {
    await this.keys.revoke(id, keyId);
  }

  @Put(':id/plan')
  @AdminOnly()
  @ApiOperation({
    operationId: 'assignPricePlan',
    summary: 'Assign a price plan version from an instant on (prorated within the month)',
  })
  @ApiOkResponse({ type: AssignedPlanDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'TENANT_NOT_FOUND, PLAN_NOT_FOUND' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'PLAN_CURRENCY_MISMATCH' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'PERIOD_CLOSED' })
  assignPlan(@Param('id') id: string, @Body() body: AssignPlanDto): Promise<AssignedPlanDto> {
    return this.tenants.assignPlan(id, body);
  }
}
