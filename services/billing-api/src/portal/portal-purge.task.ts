import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { createLogger, type Logger, ROOT_LOGGER } from '@metering/observability';
import { type BillingConfig } from '../config';
import { Clock } from '../common/clock';
import { PeriodicTask } from '../common/periodic-task';
import { BILLING_CONFIG } from '../common/tokens';
import { PortalSessionRepository } from './portal-session.repository';

/**
 * Deletes portal sessions and links that can no longer be used, every PORTAL_PURGE_INTERVAL_MS
 * (a lookup also deletes the dead session it finds). Any instance may run it: DELETEs of rows
 * nobody can use again commute.
 */
@Injectable()
export class PortalPurgeTask implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private task: PeriodicTask | null = null;

  constructor(
    private readonly sessions: PortalSessionRepository,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.logger = createLogger(PortalPurgeTask.name, { parent: root });
  }

  onApplicationBootstrap(): void {
    if (!this.config.automation.background) return;
    this.task = new PeriodicTask(
      () => this.purge(),
      this.config.portal.purgeIntervalMs,
      (error) => this.logger.warn({ err: error }, 'purging expired portal sessions failed'),
    );
    this.task.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.task?.stop();
  }

  async purge(): Promise<{ sessions: number; links: number }> {
    const purged = await this.sessions.purge(this.clock.now(), this.config.portal.sessionIdleMs);
    if (purged.sessions + purged.links > 0)
      this.logger.debug(purged, 'expired portal rows deleted');
    return purged;
  }
}
