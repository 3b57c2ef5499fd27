import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { firstRow } from '../common/sql-rows';

const LagRow = z.object({ n: z.number(), age: z.number().nullable(), w: z.number() });

/**
 * Outbox lag as Prometheus gauges: events not yet acknowledged by Kafka and the age of the
 * oldest of them. Refreshed by the relay after each run (and when Kafka is not configured, so the
 * backlog is visible all the same). Alert on the age, not the count: a close makes many at once.
 */
@Injectable()
export class OutboxLagMonitor {
  private readonly logger: Logger;
  private readonly pending;
  private readonly oldest;
  private readonly undelivered;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(OutboxLagMonitor.name, { parent: root });
    this.pending = metrics.gauge({
      name: 'event_outbox_pending',
      help: 'Invoice events committed and not yet acknowledged by Kafka',
    });
    this.oldest = metrics.gauge({
      name: 'event_outbox_oldest_seconds',
      help: 'Age of the oldest invoice event not yet acknowledged by Kafka (0 when none)',
    });
    this.undelivered = metrics.gauge({
      name: 'webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered nor failed',
    });
  }

  async refresh(): Promise<void> {
    try {
      const row = await firstRow(
        this.dataSource,
        LagRow,
        `SELECT (SELECT count(*)::int FROM event_outbox WHERE sent_at IS NULL) AS n,
                (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM event_outbox WHERE sent_at IS NULL) AS age,
                (SELECT count(*)::int FROM webhook_delivery WHERE status = 'pending') AS w`,
      );
      this.pending.set(Number(row?.n ?? 0));
      this.oldest.set(Math.max(0, Number(row?.age ?? 0)));
      this.undelivered.set(Number(row?.w ?? 0));
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox lag not refreshed');
    }
  }
}
