import { type Provider, type Type } from '@nestjs/common';
import { TenantOverviewController } from './overview/tenant-overview.controller';
import { TenantOverviewService } from './overview/tenant-overview.service';
import { PortalLinkController } from './portal/portal-link.controller';
import { PortalPurgeTask } from './portal/portal-purge.task';
import { PortalSessionController } from './portal/portal-session.controller';
import { PortalSessionRepository } from './portal/portal-session.repository';
import { PortalSessionService } from './portal/portal-session.service';

/**
 * The tenant portal's server side (docs/adr/0012-tenant-portal.md): sessions, admin links, the
 * overview. The web app's files are served by portal/portal-static.ts (app.factory.ts).
 */
export const PORTAL_CONTROLLERS: Type[] = [
  PortalSessionController,
  PortalLinkController,
  TenantOverviewController,
];

export const PORTAL_PROVIDERS: Provider[] = [
  PortalSessionRepository,
  PortalSessionService,
  PortalPurgeTask,
  TenantOverviewService,
];
