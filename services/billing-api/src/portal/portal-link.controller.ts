import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/access.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PortalLinkDto } from './portal.dto';
import { PortalSessionService } from './portal-session.service';

@ApiTags('portal')
@Controller('v1/tenants')
export class PortalLinkController {
  constructor(private readonly sessions: PortalSessionService) {}

  @Post(':id/portal-links')
  @AdminOnly()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createPortalLink',
    summary: "A one-time link that opens the tenant's portal read-only (5 minutes by default)",
    description:
      'The token is stored as SHA-256 and works once, for PORTAL_LINK_TTL_MS. Open the URL on ' +
      'billing-api: the web app posts the fragment\u2019s token to POST /v1/portal/sessions.',
  })
  @ApiCreatedResponse({ type: PortalLinkDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'TENANT_NOT_FOUND' })
  create(@Param('id') id: string): Promise<PortalLinkDto> {
    return this.sessions.issueLink(id);
  }
}
