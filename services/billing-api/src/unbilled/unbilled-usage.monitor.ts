import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { periodBounds, periodOf } from '@metering/pricing';
import { type BillingConfig } from '../config';
import { Clock } from '../common/clock';
import { BILLING_CONFIG } from '../common/tokens';
import { type UnbilledSummary, UnbilledUsageService } from './unbilled-usage.service';

/**
 * The unbilled gauges: usage of the current month (UNBILLED_TIME_ZONE) rated for tenant ids
 * that are not registered, recomputed from the ledger every UNBILLED_REFRESH_MS. No tenant label:
 * tenant ids come from samples (anyone who can label a container chooses one), so a label would
 * let them grow the series without bound; GET /v1/unbilled-usage names the tenants. One refresh
 * at a time, each bounded by UNBILLED_QUERY_TIMEOUT_MS; a failed one keeps the last values and
 * counts a failure, so a stale figure is visible (the timestamp gauge stops moving).
 */
type Gauge = ReturnType<MetricsRegistry['gauge']>;

@Injectable()
export class UnbilledUsageMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly tenants: Gauge;
  private readonly cpu: Gauge;
  private readonly memory: Gauge;
  private readonly refreshedAt: Gauge;
  private readonly failures: ReturnType<MetricsRegistry['counter']>;
  /** The count last logged: a change is logged, not every refresh. */
  private loggedTenants = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly unbilled: UnbilledUsageService,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    metrics: MetricsRegistry,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.logger = createLogger(UnbilledUsageMonitor.name, { parent: root });
    this.tenants = metrics.gauge({
      name: 'unbilled_tenants',
      help: 'Unregistered tenant ids with usage rated this month (GET /v1/unbilled-usage lists them)',
    });
    this.cpu = metrics.gauge({
      name: 'unbilled_cpu_core_seconds',
      help: 'CPU core-seconds rated this month for unregistered tenant ids (billed by no invoice)',
    });
    this.memory = metrics.gauge({
      name: 'unbilled_memory_gib_seconds',
      help: 'Memory GiB-seconds rated this month for unregistered tenant ids (billed by no invoice)',
    });
    this.refreshedAt = metrics.gauge({
      name: 'unbilled_refreshed_timestamp_seconds',
      help: 'When the unbilled gauges were last recomputed (Unix time)',
    });
    this.failures = metrics.counter({
      name: 'unbilled_refresh_failures_total',
      help: 'Recomputations of the unbilled gauges that failed or ran out of time',
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.unbilled.refreshMs === 0) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.config.unbilled.refreshMs);
    this.timer.unref();
  }

  /** Before the database closes (DatabaseLifecycle, on shutdown): a refresh in flight ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Recomputes the gauges now (also what the timer does); the figures it set. */
  async refresh(): Promise<UnbilledSummary> {
    const { timeZone, queryTimeoutMs } = this.config.unbilled;
    const now = this.clock.now();
    const { startMs, endMs } = periodBounds(periodOf(now, timeZone), timeZone);
    const summary = await this.unbilled.summary(startMs, endMs, Date.now() + queryTimeoutMs);
    this.tenants.set(summary.tenants);
    this.cpu.set(summary.cpuCoreSeconds.toNumber());
    this.memory.set(summary.memoryGibSeconds.toNumber());
    this.refreshedAt.set(Date.now() / 1000);
    return summary;
  }

  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.refresh()
      .then(
        (summary) => {
          if (summary.tenants !== this.loggedTenants) {
            this.loggedTenants = summary.tenants;
            this.logger.warn(
              { tenants: summary.tenants },
              'unregistered tenant ids with usage this month changed: GET /v1/unbilled-usage',
            );
          }
        },
        (error: unknown) => {
          this.failures.inc();
          this.logger.error({ err: error }, 'unbilled gauges not refreshed');
        },
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
