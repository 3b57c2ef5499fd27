import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  SetMetadata,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  ACCESS_KEY,
  type Access,
  type AuthenticatedRequest,
  type Principal,
} from '../auth/principal';
import { ErrorResponseDto } from '../common/error-response.dto';
import { UnauthenticatedError } from '../common/billing.errors';
import { type Page } from '../common/page.dto';
import {
  type DeliveryView,
  type EndpointView,
  WebhookEndpointService,
} from './webhook-endpoint.service';
import {
  WebhookDeliveryListQueryDto,
  WebhookDeliveryPageDto,
  WebhookEndpointListQueryDto,
  WebhookEndpointPageDto,
} from './webhook.dto';

/** The admin key or any tenant key; the service scopes what each sees. */
function AnyKey(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ACCESS_KEY, 'any' satisfies Access),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'missing or invalid key' }),
  );
}

function principalOf(request: AuthenticatedRequest): Principal {
  if (request.principal === undefined) throw new UnauthenticatedError();
  return request.principal;
}

const ENDPOINT_BODY = {
  schema: {
    type: 'object',
    required: ['url', 'eventTypes'],
    properties: {
      url: { type: 'string', example: 'https://erp.example.com/hooks/metering' },
      eventTypes: { type: 'array', items: { type: 'string' }, example: ['invoice.finalized'] },
      tenantId: { type: 'string', description: 'admin key only: an endpoint for this tenant' },
      description: { type: 'string' },
    },
  },
};

@ApiTags('webhooks')
@Controller('v1')
@AnyKey()
export class WebhookController {
  constructor(private readonly webhooks: WebhookEndpointService) {}

  @Post('webhook-endpoints')
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint; its signing secret is in this answer only',
  })
  @ApiBody(ENDPOINT_BODY)
  create(
    @Req() req: AuthenticatedRequest,
    @Body() body: unknown,
  ): Promise<EndpointView & { secret: string }> {
    return this.webhooks.create(principalOf(req), body);
  }

  @Get('webhook-endpoints')
  @ApiOperation({
    operationId: 'listWebhookEndpoints',
    summary: 'Webhook endpoints the key may see (a tenant: its own), in creation order',
  })
  @ApiOkResponse({ type: WebhookEndpointPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'limit, cursor, tenantId, status' })
  list(
    @Req() req: AuthenticatedRequest,
    @Query() query: WebhookEndpointListQueryDto,
  ): Promise<Page<EndpointView>> {
    return this.webhooks.endpointPage(principalOf(req), query);
  }

  @Get('webhook-endpoints/:endpointId')
  @ApiOperation({ operationId: 'getWebhookEndpoint', summary: 'One webhook endpoint' })
  get(@Req() req: AuthenticatedRequest, @Param('endpointId') id: string): Promise<EndpointView> {
    return this.webhooks.get(principalOf(req), id);
  }

  @Delete('webhook-endpoints/:endpointId')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteWebhookEndpoint', summary: 'Remove an endpoint' })
  async delete(@Req() req: AuthenticatedRequest, @Param('endpointId') id: string): Promise<void> {
    await this.webhooks.delete(principalOf(req), id);
  }

  @Post('webhook-endpoints/:endpointId/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'rotateWebhookEndpointSecret',
    summary: 'New signing secret (shown once); the old one keeps signing for the overlap',
  })
  rotate(
    @Req() req: AuthenticatedRequest,
    @Param('endpointId') id: string,
    @Body() body: unknown,
  ): Promise<EndpointView & { secret: string }> {
    return this.webhooks.rotate(principalOf(req), id, body);
  }

  @Post('webhook-endpoints/:endpointId/enable')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'enableWebhookEndpoint',
    summary: 'Enable an endpoint disabled after persistent failures',
  })
  enable(@Req() req: AuthenticatedRequest, @Param('endpointId') id: string): Promise<EndpointView> {
    return this.webhooks.enable(principalOf(req), id);
  }

  @Get('webhook-endpoints/:endpointId/deliveries')
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary:
      'The delivery log, newest first: status, attempts, latency, the response’s first 1 KiB',
  })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'limit, cursor, status, eventType',
  })
  deliveries(
    @Req() req: AuthenticatedRequest,
    @Param('endpointId') id: string,
    @Query() query: WebhookDeliveryListQueryDto,
  ): Promise<Page<DeliveryView>> {
    return this.webhooks.deliveryPage(principalOf(req), { ...query, endpointId: id });
  }

  @Post('webhook-deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'redeliverWebhookDelivery',
    summary: 'Deliver again now (same event id), with a fresh retry window',
  })
  redeliver(
    @Req() req: AuthenticatedRequest,
    @Param('deliveryId') id: string,
  ): Promise<DeliveryView> {
    return this.webhooks.redeliver(principalOf(req), id);
  }
}
